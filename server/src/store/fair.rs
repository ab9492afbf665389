//! Fair sharing of the database between projects: a store wrapper that admits expensive reads (the list
//! operations, whose cost grows with the data: `list_tags`, `list_image_by_tags`, `list_images_tags` and
//! `glance_list_images`) through two limits,
//! a cap per project and a cap over all projects. Point reads and writes pass straight through.
//!
//! The cap over all projects is kept below the backend's reader connections, so that point reads
//! (`list_image_tags`, show image) always find a connection however many expensive reads are waiting; the cap
//! per project keeps one project from taking every expensive slot. A request waits a bounded time for its
//! slots, then is refused with `StoreError::OverShare` (the project is at its own cap: 429) or
//! `StoreError::Busy` (every slot is taken by others: 503), both with a `Retry-After`.
//!
//! A slot is held until the backend call ends, even when the request is abandoned meanwhile (a client hanging
//! up, a request timeout), so that hanging up and asking again cannot run more queries than the share allows.
//! Nothing here depends on the backend.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use uuid::Uuid;

use super::{Store, StoreError, TaggedImage};
use crate::domain::image::{Image, NewImage};
use crate::domain::query::image_filter::ImageFilter;
use crate::domain::query::image_list::ImageListQuery;
use crate::domain::query::tag_query::{Page, TagQuery};
use crate::domain::tag::{Tag, TagChange};
use crate::ops::prometheus::{
    FAIR_SHARE_REFUSALS, FAIR_SHARE_SLOTS, FAIR_SHARE_SLOTS_IN_USE, GaugeHeld, REFUSED_BUSY,
    REFUSED_PROJECT_SHARE,
};

/// The limits on concurrent expensive reads (config table `[fair_sharing]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairShareLimits {
    /// Expensive reads running at once over all projects; must be below the reader connections, so that
    /// point reads always have one left.
    pub expensive_reads: usize,
    /// Expensive reads one project may run at once.
    pub expensive_reads_per_project: usize,
    /// Longest an expensive read waits for its slots before it is refused, in milliseconds.
    pub max_wait_ms: u64,
    /// The `Retry-After` of a refusal, in seconds.
    pub retry_after_secs: u64,
}

impl Default for FairShareLimits {
    fn default() -> Self {
        FairShareLimits {
            expensive_reads: 3,
            expensive_reads_per_project: 2,
            max_wait_ms: 1000,
            retry_after_secs: 1,
        }
    }
}

impl FairShareLimits {
    /// Checks the limits against the backend's reader connections.
    pub fn check(&self, readers: usize) -> Result<(), String> {
        if self.expensive_reads == 0 || self.expensive_reads_per_project == 0 {
            return Err(
                "fair_sharing.expensive_reads and expensive_reads_per_project must be at least 1".into()
            );
        }
        if self.expensive_reads >= readers {
            return Err(format!(
                "fair_sharing.expensive_reads ({}) must be below the reader connections ({readers}), so that \
                 point reads always have one left",
                self.expensive_reads
            ));
        }
        Ok(())
    }
}

/// The slots: one semaphore over all projects, one per project that has reads running or waiting.
struct Gate {
    limits: FairShareLimits,
    slots: Arc<Semaphore>,
    projects: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The two slots of a running expensive read; given back when dropped.
struct Admission {
    gate: Arc<Gate>,
    project: String,
    own: Arc<Semaphore>,
    permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    _in_use: GaugeHeld,
}

impl Drop for Admission {
    fn drop(&mut self) {
        drop(self.permits.take());
        self.gate.forget_if_idle(&self.project, &self.own);
    }
}

impl Gate {
    fn retry_after(&self) -> Duration {
        Duration::from_secs(self.limits.retry_after_secs)
    }

    /// The project's semaphore, created on first use.
    fn project_slots(&self, project: &str) -> Arc<Semaphore> {
        let mut projects = self.projects.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        projects
            .entry(project.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.expensive_reads_per_project)))
            .clone()
    }

    /// Drops the project's semaphore when no request holds or waits for it (only the map and the caller's
    /// handle remain), so that the map holds only active projects.
    fn forget_if_idle(&self, project: &str, own: &Arc<Semaphore>) {
        let mut projects = self.projects.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if Arc::strong_count(own) == 2 && projects.get(project).is_some_and(|s| Arc::ptr_eq(s, own)) {
            projects.remove(project);
        }
    }

    /// Waits (at most `max_wait_ms`) for a slot of the project, then for one over all projects.
    async fn admit(self: &Arc<Self>, project: &str) -> Result<Admission, StoreError> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.limits.max_wait_ms);
        let own = self.project_slots(project);
        let refuse = |error: StoreError| {
            let reason = match error {
                StoreError::OverShare { .. } => REFUSED_PROJECT_SHARE,
                _ => REFUSED_BUSY,
            };
            metrics::counter!(FAIR_SHARE_REFUSALS, "reason" => reason).increment(1);
            self.forget_if_idle(project, &own);
            tracing::debug!(project, %error, "expensive read refused");
            Err(error)
        };
        let Ok(Ok(project_permit)) = tokio::time::timeout_at(deadline, own.clone().acquire_owned()).await
        else {
            return refuse(StoreError::OverShare { retry_after: self.retry_after() });
        };
        let Ok(Ok(slot)) = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await else {
            drop(project_permit);
            return refuse(StoreError::Busy { retry_after: self.retry_after() });
        };
        Ok(Admission {
            gate: self.clone(),
            project: project.to_owned(),
            own: own.clone(),
            permits: Some((project_permit, slot)),
            _in_use: GaugeHeld::raise(metrics::gauge!(FAIR_SHARE_SLOTS_IN_USE), 1.0),
        })
    }
}

/// A store whose expensive reads are admitted by the fair-sharing limits.
pub struct FairShare {
    inner: Arc<dyn Store>,
    gate: Arc<Gate>,
}

impl FairShare {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn Store>, limits: FairShareLimits) -> FairShare {
        let gate = Gate {
            limits,
            slots: Arc::new(Semaphore::new(limits.expensive_reads)),
            projects: Mutex::new(HashMap::new()),
        };
        metrics::gauge!(FAIR_SHARE_SLOTS).set(limits.expensive_reads as f64);
        metrics::gauge!(FAIR_SHARE_SLOTS_IN_USE).increment(0.0);
        for reason in [REFUSED_PROJECT_SHARE, REFUSED_BUSY] {
            metrics::counter!(FAIR_SHARE_REFUSALS, "reason" => reason).increment(0);
        }
        FairShare { inner, gate: Arc::new(gate) }
    }

    /// Runs an expensive read for `project` once admitted. The read runs in a task of its own that keeps the
    /// slots until it ends, even if this future is dropped.
    async fn expensive<T, F, Fut>(&self, project: &str, read: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let admission = self.gate.admit(project).await?;
        let read = read(self.inner.clone());
        let task = async move {
            let result = read.await;
            drop(admission);
            result
        };
        tokio::spawn(task.instrument(tracing::Span::current()))
            .await
            .map_err(|e| StoreError::Backend(format!("an expensive read failed: {e}")))?
    }
}

#[async_trait]
impl Store for FairShare {
    async fn create_image(&self, image: NewImage) -> Result<Image, StoreError> {
        self.inner.create_image(image).await
    }

    async fn create_images(&self, images: Vec<NewImage>) -> Result<(), StoreError> {
        self.inner.create_images(images).await
    }

    async fn image(&self, id: Uuid, project: &str) -> Result<Image, StoreError> {
        self.inner.image(id, project).await
    }

    async fn list_images(&self, project: &str, query: &ImageListQuery) -> Result<Vec<Image>, StoreError> {
        let (owner, query) = (project.to_owned(), query.clone());
        self.expensive(project, |store| async move { store.list_images(&owner, &query).await }).await
    }

    async fn delete_image(&self, id: Uuid, project: &str) -> Result<(), StoreError> {
        self.inner.delete_image(id, project).await
    }

    async fn change_tags(
        &self,
        id: Uuid,
        project: &str,
        change: TagChange,
        max_tags: usize,
    ) -> Result<(), StoreError> {
        self.inner.change_tags(id, project, change, max_tags).await
    }

    async fn image_tags(&self, id: Uuid, project: &str) -> Result<Vec<Tag>, StoreError> {
        self.inner.image_tags(id, project).await
    }

    async fn project_tags(&self, project: &str) -> Result<Vec<Tag>, StoreError> {
        let owner = project.to_owned();
        self.expensive(project, |store| async move { store.project_tags(&owner).await }).await
    }

    async fn filtered_tags(&self, project: &str, filter: &ImageFilter) -> Result<Vec<Tag>, StoreError> {
        let (owner, filter) = (project.to_owned(), filter.clone());
        self.expensive(project, |store| async move { store.filtered_tags(&owner, &filter).await }).await
    }

    async fn query_images(
        &self,
        project: &str,
        query: &TagQuery,
        page: Option<Page>,
    ) -> Result<(u64, Vec<TaggedImage>), StoreError> {
        let (owner, query) = (project.to_owned(), query.clone());
        self.expensive(project, |store| async move { store.query_images(&owner, &query, page).await }).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::sqlite::{SqliteOptions, SqliteStore};

    fn limits(total: usize, per_project: usize) -> FairShareLimits {
        FairShareLimits {
            expensive_reads: total,
            expensive_reads_per_project: per_project,
            max_wait_ms: 50,
            retry_after_secs: 2,
        }
    }

    fn gate(limits: FairShareLimits) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            slots: Arc::new(Semaphore::new(limits.expensive_reads)),
            projects: Mutex::new(HashMap::new()),
        })
    }

    #[tokio::test]
    async fn a_project_over_its_share_waits_then_is_refused_while_others_get_in() {
        let gate = gate(limits(2, 1));
        let first = gate.admit("a").await.expect("a's first read");
        let started = Instant::now();
        let refused = gate.admit("a").await.err();
        assert!(
            matches!(refused, Some(StoreError::OverShare { retry_after }) if retry_after == Duration::from_secs(2)),
            "{refused:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(50), "it waited for a slot first");
        let other = gate.admit("b").await.expect("another project still gets in");
        let busy = gate.admit("c").await.err();
        assert!(matches!(busy, Some(StoreError::Busy { .. })), "every slot is taken: {busy:?}");
        drop(first);
        let again = gate.admit("a").await.expect("a slot came back");
        drop((again, other));
        assert!(gate.projects.lock().expect("lock").is_empty(), "idle projects are forgotten");
    }

    #[tokio::test]
    async fn a_waiting_read_gets_the_slot_that_comes_free() {
        let gate = gate(FairShareLimits { max_wait_ms: 5_000, ..limits(1, 1) });
        let first = gate.admit("a").await.expect("first");
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit("a").await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        waiting.await.expect("task").expect("admitted once the slot is free");
    }

    #[test]
    fn limits_must_leave_a_reader_for_point_reads() {
        assert!(FairShareLimits::default().check(4).is_ok());
        assert!(FairShareLimits::default().check(3).is_err());
        assert!(limits(0, 1).check(4).is_err());
        assert!(limits(2, 0).check(4).is_err());
    }

    /// A request dropped while its read runs (a client hanging up) keeps its slot until the read ends.
    #[tokio::test]
    async fn an_abandoned_read_keeps_its_slot_until_it_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteOptions { readers: 2, durability: Default::default(), query_time_limit: None };
        let store = SqliteStore::open(&dir.path().join("db.sqlite3"), &options).expect("opens");
        let fair = FairShare::new(Arc::new(store), limits(1, 1));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            fair.expensive("a", |store| async move {
                let _ = released.await;
                store.project_tags("a").await
            }),
        )
        .await;
        assert!(abandoned.is_err(), "the request gave up");
        let refused = fair.project_tags("a").await.err();
        assert!(matches!(refused, Some(StoreError::OverShare { .. })), "the slot is still held: {refused:?}");
        release.send(()).expect("the read is still running");
        let tags = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match fair.project_tags("a").await {
                    Err(StoreError::OverShare { .. }) => continue,
                    other => return other,
                }
            }
        })
        .await
        .expect("the slot comes back once the read ends");
        assert_eq!(tags.expect("read"), Vec::new());
    }
}
