//! `ksim bench`'s yardstick: madsim's bare message cost, measured by a ping-pong between two simulated nodes over
//! the same kind of connection (`connect1`, boxed payloads) that ksim's nodes use.

use madsim::net::Endpoint;
use madsim::runtime::{Handle, Runtime};
use std::net::SocketAddr;

/// Runs `round_trips` request/answer pairs between two nodes in one madsim runtime and returns the wall time (s)
/// it took; `2 * round_trips` messages are delivered.
pub fn ping_pong(round_trips: u64) -> f64 {
    let server: SocketAddr = "10.9.0.2:1".parse().unwrap();
    // Wall-clock time is the measurement itself: it never enters a run.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        Runtime::with_seed_and_config(0, madsim::Config::default()).block_on(async move {
            let handle = Handle::current();
            let b = handle.create_node().ip(server.ip()).build();
            let a = handle.create_node().ip("10.9.0.1".parse().unwrap()).build();
            b.spawn(async move {
                let endpoint = Endpoint::bind(server).await.unwrap();
                let (tx, mut rx, _) = endpoint.accept1().await.unwrap();
                while let Ok(m) = rx.recv().await {
                    let n = *m.downcast::<u64>().unwrap();
                    tx.send(Box::new(n + 1)).await.unwrap();
                }
            });
            // Let the server bind before the client connects.
            madsim::time::sleep(std::time::Duration::from_millis(10)).await;
            a.spawn(async move {
                let endpoint = Endpoint::bind("10.9.0.1:1".parse::<SocketAddr>().unwrap())
                    .await
                    .unwrap();
                let (tx, mut rx) = endpoint.connect1(server).await.unwrap();
                for i in 0..round_trips {
                    tx.send(Box::new(i)).await.unwrap();
                    let answer = *rx.recv().await.unwrap().downcast::<u64>().unwrap();
                    assert_eq!(answer, i + 1);
                }
            })
            .await
            .unwrap();
        })
    })
    .join()
    .expect("the ping-pong runs");
    started.elapsed().as_secs_f64()
}
