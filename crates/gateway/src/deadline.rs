//! Deadlines on a worker's request path (a request's `request_timeout`), as tokio sleeps that
//! the worker recycles instead of making, registering in tokio's timer wheel and removing
//! again for every request.
//!
//! A recycled sleep is re-armed with tokio's `Sleep::reset`: while its new deadline is no
//! earlier than its last one and it has not fired, that is one atomic store (the wheel
//! re-files the entry only when its old slot comes round); otherwise it registers again as a
//! new sleep would. Hence one free list per kind of deadline: a kind's deadlines are all the
//! same span from now, so a recycled sleep's next one is later than its last. A sleep that
//! fires while it waits in the free list wakes the task that last polled it, which then
//! finds nothing to do (the pipeline polls its deadline again and sees it has not passed),
//! and until it is reused it keeps that task's allocation alive: hence the bound on the free
//! list.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Sleeps kept for reuse per worker: more than the requests a worker usually has in
/// flight; those over it are dropped (deregistered) as tokio's own are.
const KEPT: usize = 256;

/// A worker's free sleeps for one kind of deadline. Each worker has its own (tokio sleeps
/// belong to the runtime that made them, and every worker runs its own runtime).
#[derive(Default)]
pub struct Sleeps {
    free: Mutex<Vec<Pin<Box<Sleep>>>>,
}

impl Sleeps {
    /// A deadline at `at`, from the free list when it has one. Must be called inside the
    /// runtime that polls the deadline.
    pub fn until(self: &Arc<Self>, at: Instant) -> Deadline {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let sleep = match reused {
            Some(mut sleep) => {
                sleep.as_mut().reset(at);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(at)),
        };
        Deadline {
            sleep: Some(sleep),
            home: self.clone(),
        }
    }

    /// A deadline `after` from now.
    pub fn after(self: &Arc<Self>, after: Duration) -> Deadline {
        self.until(Instant::now() + after)
    }

    /// Sleeps waiting for reuse.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.free.lock().map_or(0, |free| free.len())
    }
}

/// A pending deadline: resolves when it passes; goes back to its worker's free list when
/// dropped.
pub struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    home: Arc<Sleeps>,
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(sleep) = self.sleep.take()
            && let Ok(mut free) = self.home.free.lock()
            && free.len() < KEPT
        {
            free.push(sleep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls once (registering the sleep in tokio's wheel).
    fn pending(deadline: &mut Deadline) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(deadline).poll(&mut cx).is_pending()
    }

    /// `elapsed` is `want`, to the timer wheel's millisecond.
    fn about(elapsed: Duration, want: Duration) -> bool {
        elapsed >= want && elapsed <= want + Duration::from_millis(1)
    }

    /// A deadline `after` from now, taken from `sleeps`, passes at `after`.
    async fn passes_after(sleeps: &Arc<Sleeps>, after: Duration) {
        let start = Instant::now();
        sleeps.after(after).await;
        assert!(
            about(start.elapsed(), after),
            "{:?} for {after:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_passes_when_due_and_not_before() {
        let sleeps = Arc::new(Sleeps::default());
        passes_after(&sleeps, Duration::from_millis(50)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_recycled_sleep_keeps_its_new_deadline_earlier_or_later() {
        let sleeps = Arc::new(Sleeps::default());
        // Registered in the wheel at +10 s, then dropped unfired into the free list.
        let mut first = sleeps.after(Duration::from_secs(10));
        assert!(pending(&mut first));
        drop(first);
        assert_eq!(sleeps.kept(), 1);
        // Reused with an earlier deadline: must fire at +1 s, not at +10 s.
        passes_after(&sleeps, Duration::from_secs(1)).await;
        // Reused (fired) with a later one: must not fire early.
        let start = Instant::now();
        let later = sleeps.after(Duration::from_secs(20));
        assert_eq!(sleeps.kept(), 0);
        later.await;
        assert!(about(start.elapsed(), Duration::from_secs(20)));
        assert_eq!(sleeps.kept(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleep_left_in_the_free_list_harms_no_one_when_it_fires() {
        let sleeps = Arc::new(Sleeps::default());
        let mut idle = sleeps.after(Duration::from_millis(5));
        assert!(pending(&mut idle));
        drop(idle);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Fired while free: re-armed on reuse all the same.
        passes_after(&sleeps, Duration::from_millis(30)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_free_list_is_bounded() {
        let sleeps = Arc::new(Sleeps::default());
        let many: Vec<Deadline> = (0..KEPT + 10)
            .map(|_| sleeps.after(Duration::from_secs(1)))
            .collect();
        drop(many);
        assert_eq!(sleeps.kept(), KEPT);
    }
}
