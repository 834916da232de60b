//! A bounded pool for CPU-heavy work (decoding, analysing and encoding scans, simulated
//! scanning): at most `jobs` run at once, the rest wait their turn in arrival order.
//!
//! With more stations than cores, first come is first served instead of every job sharing
//! the cores and all of them finishing late together; stations that finish first print
//! first, so their instrument waits overlap other stations' work, and only as many scans
//! are held in memory as there are jobs running. Owns the queue only; the jobs run on the
//! runtime's blocking threads, never on the threads that drive the instruments.

use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why a job did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// The gate was closed (the process is shutting down).
    #[error("the compute pool is closed")]
    Closed,
    /// The job panicked or was cancelled.
    #[error("compute job failed: {0}")]
    Failed(String),
}

/// The gate in front of the CPU-heavy work. Clones share one queue.
#[derive(Debug, Clone)]
pub struct ComputeGate {
    permits: Arc<Semaphore>,
    jobs: usize,
}

impl ComputeGate {
    /// A gate that lets `jobs` jobs (at least one) run at once.
    pub fn new(jobs: usize) -> ComputeGate {
        let jobs = jobs.max(1);
        ComputeGate {
            permits: Arc::new(Semaphore::new(jobs)),
            jobs,
        }
    }

    /// A gate with one job per processor this process may use.
    pub fn per_core() -> ComputeGate {
        ComputeGate::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// How many jobs run at once.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Waits for a turn (in arrival order), then runs `job` on a blocking thread. The turn
    /// is held until the job returns, even if the caller stops waiting for it.
    pub async fn run<T, F>(&self, job: F) -> Result<T, ComputeError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let turn = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ComputeError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            job()
        })
        .await
        .map_err(|e| ComputeError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_given_jobs_run_at_once() {
        let gate = ComputeGate::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..8 {
            let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
            handles.push(tokio::spawn(async move {
                gate.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for h in handles {
            h.await.expect("task").expect("job");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_jobs_run_in_arrival_order() {
        let gate = ComputeGate::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        // Hold the only turn so the others queue up behind it.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(move || hold.recv().ok()).await })
        };
        while gate.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let job = |i: u32| {
            let order = order.clone();
            gate.run(move || order.lock().expect("order").push(i))
        };
        // A biased `join!` polls its futures in the order written, so the jobs join the
        // queue as 3, 1, 4, 2; the release comes after all four have been polled.
        let (a, b, c, d, ()) = tokio::join!(biased; job(3), job(1), job(4), job(2), async {
            tokio::task::yield_now().await;
            release.send(()).expect("release");
        });
        for r in [a, b, c, d] {
            r.expect("job");
        }
        first.await.expect("task").expect("job");
        assert_eq!(*order.lock().expect("order"), vec![3, 1, 4, 2]);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_gives_its_turn_back() {
        let gate = ComputeGate::new(1);
        let r = gate.run(|| -> u32 { panic!("bad scan") }).await;
        assert!(matches!(r, Err(ComputeError::Failed(_))), "{r:?}");
        assert_eq!(gate.run(|| 7).await.expect("second job"), 7);
    }

    #[test]
    fn a_gate_lets_at_least_one_job_run() {
        assert_eq!(ComputeGate::new(0).jobs(), 1);
        assert!(ComputeGate::per_core().jobs() >= 1);
    }
}
