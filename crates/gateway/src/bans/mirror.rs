//! The ban list shared by replicas through the Redis state backend: every second each replica
//! writes its own changes to one Redis hash (`portcullis:bans`, a field per client holding the
//! ban as JSON), drops the ended ones, and takes the hash as its list. A ban made on one
//! replica is thus enforced by all within about a second; while Redis is unreachable each
//! replica keeps its own list and its unwritten changes (logged once per outage).

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::watch;

use super::{Ban, Bans, Change};

/// The Redis hash holding the shared list.
pub const KEY: &str = "portcullis:bans";
/// How often a replica writes and reads the shared list.
pub const PERIOD: Duration = Duration::from_secs(1);
/// How long one exchange with Redis may take.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Mirrors `bans` through `client` until `stop` changes, on a task of its own; the changes
/// made from now on are kept for it.
pub fn spawn(
    bans: Bans,
    client: redis::Client,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    bans.mirror();
    tokio::spawn(run(bans, client, stop))
}

async fn run(bans: Bans, client: redis::Client, mut stop: watch::Receiver<bool>) {
    let mut connection: Option<ConnectionManager> = None;
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(PERIOD) => {}
        }
        let changes = bans.take_changes();
        let result =
            tokio::time::timeout(TIMEOUT, exchange(&client, &mut connection, &changes)).await;
        match result {
            Ok(Ok(shared)) => {
                if failing {
                    tracing::info!("the shared ban list is reachable again");
                }
                failing = false;
                bans.merge(shared);
            }
            Ok(Err(e)) => {
                requeue(&bans, changes);
                connection = None;
                if !failing {
                    tracing::warn!(error = %e, "cannot share the ban list through Redis; bans stay local until it answers");
                }
                failing = true;
            }
            Err(_) => {
                requeue(&bans, changes);
                connection = None;
                if !failing {
                    tracing::warn!(
                        "the shared ban list timed out; bans stay local until Redis answers"
                    );
                }
                failing = true;
            }
        }
    }
}

/// Puts unwritten changes back, before any newer ones.
fn requeue(bans: &Bans, mut changes: Vec<Change>) {
    let newer = bans.take_changes();
    changes.extend(newer);
    for c in changes {
        bans.record(c);
    }
}

/// Writes `changes`, drops ended bans and returns the shared list.
async fn exchange(
    client: &redis::Client,
    connection: &mut Option<ConnectionManager>,
    changes: &[Change],
) -> redis::RedisResult<Vec<Ban>> {
    let mut conn = match connection {
        Some(c) => c.clone(),
        None => {
            let c = ConnectionManager::new(client.clone()).await?;
            *connection = Some(c.clone());
            c
        }
    };
    if !changes.is_empty() {
        let mut pipe = redis::pipe();
        for change in changes {
            match change {
                Change::Added(ban) => {
                    let json = serde_json::to_string(ban).unwrap_or_default();
                    pipe.hset(KEY, ban.client.to_string(), json).ignore();
                }
                Change::Removed(ip) => {
                    pipe.hdel(KEY, ip.to_string()).ignore();
                }
            }
        }
        pipe.query_async::<()>(&mut conn).await?;
    }
    let all: Vec<(String, String)> = conn.hgetall(KEY).await?;
    let now = super::now_ms();
    let mut list = Vec::with_capacity(all.len());
    let mut ended = Vec::new();
    for (field, value) in all {
        match serde_json::from_str::<Ban>(&value) {
            Ok(ban) if ban.until_unix_ms > now => list.push(ban),
            _ => ended.push(field),
        }
    }
    if !ended.is_empty() {
        conn.hdel::<_, _, ()>(KEY, ended).await?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::lockout::tests::redis_server;

    /// Two replicas on one real Redis: a ban added on one is enforced by the other, and a
    /// lift on the other reaches the first.
    #[tokio::test]
    async fn replicas_share_bans_through_redis() {
        let Some(redis) = redis_server() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed and CI=true: the test cannot be skipped in CI"
            );
            eprintln!("skipped: redis-server not installed");
            return;
        };
        let url = format!("redis://127.0.0.1:{}/", redis.1);
        let (stop_tx, stop) = watch::channel(false);
        let (a, b) = (Bans::default(), Bans::default());
        for bans in [&a, &b] {
            let client = redis::Client::open(url.as_str()).unwrap();
            spawn(bans.clone(), client, stop.clone());
        }
        let ip: std::net::IpAddr = "203.0.113.5".parse().unwrap();
        a.add(
            ip,
            Duration::from_secs(600),
            "stuffing",
            "detector:stuffing",
        );
        // Bounded polls (30 s): the mirrors exchange every second.
        let mut shared = false;
        for _ in 0..300 {
            if b.is_banned(ip) {
                shared = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(shared, "replica b never saw the ban added on a");
        assert_eq!(b.list()[0].source, "detector:stuffing");
        assert!(b.remove(ip));
        let mut lifted = false;
        for _ in 0..300 {
            if !a.is_banned(ip) {
                lifted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(lifted, "replica a never saw the ban lifted on b");
        let _ = stop_tx.send(true);
    }
}
