//! Pub/sub: who listens to which channel, pattern or shard channel, and delivery.
//!
//! Subscriptions are kept here by name, each with the connections listening
//! ([`ClientInfo`]s); a connection keeps its own names too ([`Subscriptions`]), for its
//! replies, UNSUBSCRIBE without arguments and its disconnect. PUBLISH looks the
//! channel up under a read lock, matches every pattern with the glob matcher KEYS
//! uses, and hands each listener a pre-encoded message through the connection's push
//! queue (see `ClientInfo::push`): a message is encoded once per protocol (RESP2
//! array, RESP3 push) and per pattern, never once per subscriber; the `Bytes` are
//! shared.
//!
//! A subscriber that does not read its socket lets pushes pile up; past the
//! `client-output-buffer-limit pubsub` limits (hard, or soft for longer than its
//! seconds) it is disconnected, as Redis does, so one slow subscriber never grows the
//! server's memory without bound.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use shoal_protocol::{Proto, ReplyBuf};
use shoal_storage::glob;

use crate::client::{ClientInfo, PushLimits, Subscriptions};

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: a channel.
    Channel,
    /// PSUBSCRIBE: a glob pattern of channels.
    Pattern,
    /// SSUBSCRIBE: a shard channel (one namespace of its own, as in Redis).
    Shard,
}

impl Kind {
    /// The word of the (un)subscribe replies: `subscribe`, `punsubscribe`...
    pub fn reply_word(self, subscribe: bool) -> &'static str {
        match (self, subscribe) {
            (Kind::Channel, true) => "subscribe",
            (Kind::Channel, false) => "unsubscribe",
            (Kind::Pattern, true) => "psubscribe",
            (Kind::Pattern, false) => "punsubscribe",
            (Kind::Shard, true) => "ssubscribe",
            (Kind::Shard, false) => "sunsubscribe",
        }
    }
}

type Listeners = HashMap<Box<[u8]>, Vec<Arc<ClientInfo>>>;

/// The server's subscriptions.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<Listeners>,
    patterns: RwLock<Listeners>,
    shard: RwLock<Listeners>,
    /// `client-output-buffer-limit pubsub`: hard bytes, soft bytes, soft seconds.
    limit_hard: AtomicU64,
    limit_soft: AtomicU64,
    limit_secs: AtomicU64,
}

/// `kind`'s names among a connection's subscriptions.
pub fn names(subs: &Subscriptions, kind: Kind) -> &HashSet<Box<[u8]>> {
    match kind {
        Kind::Channel => &subs.channels,
        Kind::Pattern => &subs.patterns,
        Kind::Shard => &subs.shard,
    }
}

fn names_mut(subs: &mut Subscriptions, kind: Kind) -> &mut HashSet<Box<[u8]>> {
    match kind {
        Kind::Channel => &mut subs.channels,
        Kind::Pattern => &mut subs.patterns,
        Kind::Shard => &mut subs.shard,
    }
}

/// The count the (un)subscribe replies carry: channels and patterns together, or
/// shard channels alone (Redis's `clientSubscriptionsCount` /
/// `clientShardSubscriptionsCount`).
pub fn count_for(subs: &Subscriptions, kind: Kind) -> usize {
    match kind {
        Kind::Shard => subs.shard.len(),
        _ => subs.channels.len() + subs.patterns.len(),
    }
}

/// A message encoded once per protocol, on first need.
struct Encoded<'m> {
    parts: &'m [&'m [u8]],
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl<'m> Encoded<'m> {
    fn new(parts: &'m [&'m [u8]]) -> Encoded<'m> {
        Encoded {
            parts,
            resp2: None,
            resp3: None,
        }
    }

    fn for_proto(&mut self, proto: Proto) -> Bytes {
        let parts = self.parts;
        let slot = match proto {
            Proto::Resp2 => &mut self.resp2,
            Proto::Resp3 => &mut self.resp3,
        };
        slot.get_or_insert_with(|| {
            let mut out = ReplyBuf::new(proto);
            out.push(parts.len());
            for p in parts {
                out.bulk(p);
            }
            Bytes::copy_from_slice(out.as_bytes())
        })
        .clone()
    }
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<Listeners> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Sets the `pubsub` class of `client-output-buffer-limit` (0 = no limit).
    pub fn set_limits(&self, hard: u64, soft: u64, secs: u64) {
        self.limit_hard.store(hard, Ordering::Relaxed);
        self.limit_soft.store(soft, Ordering::Relaxed);
        self.limit_secs.store(secs, Ordering::Relaxed);
    }

    /// The `pubsub` class of `client-output-buffer-limit`.
    pub fn limits(&self) -> PushLimits {
        PushLimits {
            hard: self.limit_hard.load(Ordering::Relaxed),
            soft: self.limit_soft.load(Ordering::Relaxed),
            soft_secs: self.limit_secs.load(Ordering::Relaxed),
        }
    }

    /// Subscribes `info` (whose own names are `subs`) to `name`; returns whether it
    /// was new for this connection.
    pub fn subscribe(
        &self,
        subs: &mut Subscriptions,
        info: &Arc<ClientInfo>,
        kind: Kind,
        name: &[u8],
    ) -> bool {
        if !names_mut(subs, kind).insert(name.into()) {
            return false;
        }
        self.map(kind)
            .write()
            .entry(name.into())
            .or_default()
            .push(Arc::clone(info));
        info.set_subscriptions(subs);
        true
    }

    /// Unsubscribes connection `info` from `name`; returns whether it was subscribed.
    pub fn unsubscribe(
        &self,
        subs: &mut Subscriptions,
        info: &ClientInfo,
        kind: Kind,
        name: &[u8],
    ) -> bool {
        if !names_mut(subs, kind).remove(name) {
            return false;
        }
        let mut map = self.map(kind).write();
        if let Some(list) = map.get_mut(name) {
            list.retain(|c| c.id != info.id);
            if list.is_empty() {
                map.remove(name);
            }
        }
        info.set_subscriptions(subs);
        true
    }

    /// Drops every subscription of a connection (RESET, disconnect).
    pub fn unsubscribe_all(&self, subs: &mut Subscriptions, info: &ClientInfo) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names: Vec<Box<[u8]>> = names(subs, kind).iter().cloned().collect();
            for n in names {
                self.unsubscribe(subs, info, kind, &n);
            }
        }
    }

    /// PUBLISH (or SPUBLISH, `shard`): delivers `message` to every subscriber of
    /// `channel` and (not for shard channels) of every matching pattern; returns how
    /// many deliveries were made.
    pub fn publish(&self, channel: &[u8], message: &[u8], shard: bool) -> usize {
        let limits = self.limits();
        let mut n = 0;
        let (kind, word): (Kind, &[u8]) = if shard {
            (Kind::Shard, b"smessage")
        } else {
            (Kind::Channel, b"message")
        };
        {
            let map = self.map(kind).read();
            if let Some(list) = map.get(channel) {
                let parts: [&[u8]; 3] = [word, channel, message];
                let mut msg = Encoded::new(&parts);
                for c in list {
                    c.push_limited(msg.for_proto(c.proto()), &limits);
                    n += 1;
                }
            }
        }
        if !shard {
            let map = self.patterns.read();
            for (pattern, list) in map.iter() {
                if !glob::matches(pattern, channel) {
                    continue;
                }
                let parts: [&[u8]; 4] = [b"pmessage", pattern, channel, message];
                let mut msg = Encoded::new(&parts);
                for c in list {
                    c.push_limited(msg.for_proto(c.proto()), &limits);
                    n += 1;
                }
            }
        }
        n
    }

    /// Channels (or shard channels) with at least one subscriber, matching `pattern`
    /// when given (PUBSUB CHANNELS / SHARDCHANNELS).
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        self.map(kind)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob::matches(p, c)))
            .cloned()
            .collect()
    }

    /// Clients subscribed to at least one channel, pattern or shard channel (INFO
    /// `pubsub_clients`, Redis 7.2's field).
    pub fn clients(&self) -> usize {
        let mut ids = HashSet::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let map = self.map(kind).read();
            ids.extend(map.values().flatten().map(|c| c.id));
        }
        ids.len()
    }

    /// Subscribers of `name` (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.map(kind).read().get(name).map_or(0, Vec::len)
    }

    /// Number of distinct names of `kind` with subscribers (PUBSUB NUMPAT, INFO's
    /// `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`).
    pub fn count(&self, kind: Kind) -> usize {
        self.map(kind).read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_encoded_once_per_protocol() {
        let parts: [&[u8]; 3] = [b"message", b"ch", b"hi"];
        let mut m = Encoded::new(&parts);
        let a = m.for_proto(Proto::Resp2);
        let b = m.for_proto(Proto::Resp2);
        assert_eq!(&a[..], b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        // The same allocation, shared.
        assert_eq!(a.as_ptr(), b.as_ptr());
        let c = m.for_proto(Proto::Resp3);
        assert_eq!(&c[..], b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    }

    #[test]
    fn reply_counts_follow_redis() {
        let mut s = Subscriptions::default();
        s.channels.insert(b"a".as_slice().into());
        s.patterns.insert(b"p*".as_slice().into());
        s.shard.insert(b"s".as_slice().into());
        assert_eq!(count_for(&s, Kind::Channel), 2);
        assert_eq!(count_for(&s, Kind::Pattern), 2);
        assert_eq!(count_for(&s, Kind::Shard), 1);
        assert!(s.any());
    }
}
