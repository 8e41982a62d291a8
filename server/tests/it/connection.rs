//! Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH, RESET, CLIENT.

use crate::common::*;

#[tokio::test]
async fn ping_echo_select() {
    let s = TestServer::start();
    let mut c = s.conn().await;
    assert_eq!(cmd::<String>(&mut c, &["PING"]).await, "PONG");
    assert_eq!(cmd::<String>(&mut c, &["PING", "hi"]).await, "hi");
    assert_eq!(cmd::<String>(&mut c, &["ECHO", "x y"]).await, "x y");
    assert_eq!(
        err(&mut c, &["SELECT", "16"]).await,
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "x"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["PING", "a", "b"]).await,
        "ERR wrong number of arguments for 'ping' command"
    );
}
