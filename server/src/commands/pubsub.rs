//! Pub/sub commands (Redis's `pubsub.c`): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
//! PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's
//! subcommands, with Redis 7.0's replies (checked against redis-server 7.0.15).
//!
//! Subscription replies are pushes (RESP3 `>`, RESP2 arrays), one per name, each
//! with the connection's subscription count after it. Messages reach subscribers
//! through their connections' push queues (see [`crate::pubsub`]). In RESP2 a
//! subscribed connection may only run the commands dispatch's gates allow in that
//! mode; PING answers there with a `pong` array.

use shoal_protocol::Args;

use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::CmdResult;
use crate::pubsub::{count_for, names, Kind};

/// (P|S)SUBSCRIBE name [name ...].
fn subscribe_to(ctx: &mut Ctx<'_>, args: &Args<'_>, kind: Kind) -> CmdResult {
    let pubsub = &ctx.shared.pubsub;
    for name in args.iter().skip(1) {
        pubsub.subscribe(&mut ctx.client.subs, &ctx.client.info, kind, name);
        ctx.out.push(3);
        ctx.out.bulk_str(kind.reply_word(true));
        ctx.out.bulk(name);
        ctx.out.int(count_for(&ctx.client.subs, kind) as i64);
    }
    Ok(())
}

/// (P|S)UNSUBSCRIBE [name ...]: without names, from every name of the kind; with
/// none subscribed, one reply with a null name.
fn unsubscribe_from(ctx: &mut Ctx<'_>, args: &Args<'_>, kind: Kind) -> CmdResult {
    let pubsub = &ctx.shared.pubsub;
    let word = kind.reply_word(false);
    let list: Vec<Box<[u8]>> = if args.len() > 1 {
        args.iter().skip(1).map(Into::into).collect()
    } else {
        names(&ctx.client.subs, kind).iter().cloned().collect()
    };
    if list.is_empty() {
        ctx.out.push(3);
        ctx.out.bulk_str(word);
        ctx.out.null();
        ctx.out.int(count_for(&ctx.client.subs, kind) as i64);
        return Ok(());
    }
    for name in list {
        pubsub.unsubscribe(&mut ctx.client.subs, &ctx.client.info, kind, &name);
        ctx.out.push(3);
        ctx.out.bulk_str(word);
        ctx.out.bulk(&name);
        ctx.out.int(count_for(&ctx.client.subs, kind) as i64);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    subscribe_to(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    subscribe_to(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    subscribe_to(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    unsubscribe_from(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    unsubscribe_from(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    unsubscribe_from(ctx, args, Kind::Shard)
}

fn publish(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let n = ctx.shared.pubsub.publish(&args[1], &args[2], false);
    ctx.out.int(n as i64);
    Ok(())
}

fn spublish(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let n = ctx.shared.pubsub.publish(&args[1], &args[2], true);
    ctx.out.int(n as i64);
    Ok(())
}

/// Never called: dispatch resolves PUBSUB to its subcommand rows.
fn pubsub_container(_ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    Ok(())
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern].
fn list_active(ctx: &mut Ctx<'_>, args: &Args<'_>, kind: Kind) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::error::CmdError::WrongArity(format!(
            "pubsub|{}",
            String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
        )));
    }
    let list = ctx.shared.pubsub.active(kind, args.get(2));
    ctx.out.array(list.len());
    for c in &list {
        ctx.out.bulk(c);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    list_active(ctx, args, Kind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    list_active(ctx, args, Kind::Shard)
}

/// PUBSUB NUMSUB / SHARDNUMSUB [name ...]: a map of name to subscriber count.
fn count_each(ctx: &mut Ctx<'_>, args: &Args<'_>, kind: Kind) -> CmdResult {
    let pubsub = &ctx.shared.pubsub;
    ctx.out.map(args.len() - 2);
    for name in args.iter().skip(2) {
        ctx.out.bulk(name);
        ctx.out.int(pubsub.subscribers(kind, name) as i64);
    }
    Ok(())
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    count_each(ctx, args, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    count_each(ctx, args, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    ctx.out.int(ctx.shared.pubsub.count(Kind::Pattern) as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_>, _args: &Args<'_>) -> CmdResult {
    super::common::help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

const PUBSUB_SLOW: &[&str] = &["pubsub", "slow"];
const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const QUERY_FLAGS: u32 = PUBSUB | LOADING | STALE;

const PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command::new("channels", -2, QUERY_FLAGS, (0, 0, 0), pubsub_channels)
        .doc("pubsub", "List active channels", "2.8.0")
        .complexity("O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUBSUB_CHANNELS),
    Command::new("numpat", 2, QUERY_FLAGS, (0, 0, 0), pubsub_numpat)
        .doc("pubsub", "Get the count of unique patterns pattern subscriptions", "2.8.0")
        .complexity("O(1)")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUBSUB_NUMPAT),
    Command::new("numsub", -2, QUERY_FLAGS, (0, 0, 0), pubsub_numsub)
        .doc("pubsub", "Get the count of subscribers for channels", "2.8.0")
        .complexity("O(N) for the NUMSUB subcommand, where N is the number of requested channels")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUBSUB_NUMSUB),
    Command::new("shardchannels", -2, QUERY_FLAGS, (0, 0, 0), pubsub_shardchannels)
        .doc("pubsub", "List active shard channels", "7.0.0")
        .complexity("O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUBSUB_SHARDCHANNELS),
    Command::new("shardnumsub", -2, QUERY_FLAGS, (0, 0, 0), pubsub_shardnumsub)
        .doc("pubsub", "Get the count of subscribers for shard channels", "7.0.0")
        .complexity("O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUBSUB_SHARDNUMSUB),
    Command::new("help", 2, LOADING | STALE, (0, 0, 0), pubsub_help)
        .doc("pubsub", "Show helpful text about the different subcommands", "6.2.0")
        .complexity("O(1)")
        .acl(&["slow"])
        .schema(command_args::PUBSUB_HELP),
];

/// This family's commands.
pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, SUB_FLAGS, (0, 0, 0), subscribe)
        .doc("pubsub", "Listen for messages published to the given channels", "2.0.0")
        .complexity("O(N) where N is the number of channels to subscribe to.")
        .acl(PUBSUB_SLOW)
        .schema(command_args::SUBSCRIBE),
    Command::new("unsubscribe", -1, SUB_FLAGS, (0, 0, 0), unsubscribe)
        .doc("pubsub", "Stop listening for messages posted to the given channels", "2.0.0")
        .complexity("O(N) where N is the number of clients already subscribed to a channel.")
        .acl(PUBSUB_SLOW)
        .schema(command_args::UNSUBSCRIBE),
    Command::new("psubscribe", -2, SUB_FLAGS, (0, 0, 0), psubscribe)
        .doc("pubsub", "Listen for messages published to channels matching the given patterns", "2.0.0")
        .complexity("O(N) where N is the number of patterns the client is already subscribed to.")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PSUBSCRIBE),
    Command::new("punsubscribe", -1, SUB_FLAGS, (0, 0, 0), punsubscribe)
        .doc("pubsub", "Stop listening for messages posted to channels matching the given patterns", "2.0.0")
        .complexity("O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).")
        .acl(PUBSUB_SLOW)
        .schema(command_args::PUNSUBSCRIBE),
    Command::new("ssubscribe", -2, SUB_FLAGS, (1, -1, 1), ssubscribe)
        .doc("pubsub", "Listen for messages published to the given shard channels", "7.0.0")
        .complexity("O(N) where N is the number of shard channels to subscribe to.")
        .acl(PUBSUB_SLOW)
        .schema(command_args::SSUBSCRIBE),
    Command::new("sunsubscribe", -1, SUB_FLAGS, (1, -1, 1), sunsubscribe)
        .doc("pubsub", "Stop listening for messages posted to the given shard channels", "7.0.0")
        .complexity("O(N) where N is the number of clients already subscribed to a shard channel.")
        .acl(PUBSUB_SLOW)
        .schema(command_args::SUNSUBSCRIBE),
    Command::new("publish", 3, QUERY_FLAGS | FAST, (0, 0, 0), publish)
        .doc("pubsub", "Post a message to a channel", "2.0.0")
        .complexity("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).")
        .acl(&["pubsub", "fast"])
        .schema(command_args::PUBLISH),
    Command::new("spublish", 3, QUERY_FLAGS | FAST, (1, 1, 1), spublish)
        .doc("pubsub", "Post a message to a shard channel", "7.0.0")
        .complexity("O(N) where N is the number of clients subscribed to the receiving shard channel.")
        .acl(&["pubsub", "fast"])
        .schema(command_args::SPUBLISH),
    Command::new("pubsub", -2, 0, (0, 0, 0), pubsub_container)
        .doc("pubsub", "A container for Pub/Sub commands", "2.8.0")
        .complexity("Depends on subcommand.")
        .acl(&["slow"])
        .subs(PUBSUB_SUBCOMMANDS)
        .schema(command_args::PUBSUB),
];
