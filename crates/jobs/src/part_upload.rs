//! Multipart uploads under one budget of parts shared by every file a step copies at once, so
//! what a step holds in memory is bounded by the budget, not by files × parts per file: eight
//! large files in flight hold at most [`PARTS_BUDGET`] parts, where each alone could hold
//! [`PARTS_PER_FILE`]. Small files, read whole, take a part of the budget too.
//!
//! `object_store`'s `WriteMultipart` bounds the parts of one upload only, hence this loop over
//! `MultipartUpload::put_part`, whose parts hold a permit until they are stored.

use crate::delivery::Source;
use crate::storage::store_kind;
use crate::JobError;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, PutPayload};
use std::sync::Arc;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};

/// Size of each part but the last; files up to this size go up in one request.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one file in flight at once.
pub(crate) const PARTS_PER_FILE: usize = 8;
/// Parts, and small files read whole, held at once across all files of a step: 128 MiB.
pub(crate) const PARTS_BUDGET: usize = 16;
/// Bytes asked of the source per read while a part fills.
const READ_BYTES: usize = 256 * 1024;

/// Permits to hold one part (or one small file) in memory, shared by a step's files.
#[derive(Debug, Clone)]
pub(crate) struct PartBudget(Arc<Semaphore>);

impl PartBudget {
    pub fn new(parts: usize) -> Self {
        Self(Arc::new(Semaphore::new(parts.max(1))))
    }

    /// Waits until one more part fits.
    pub async fn take(&self) -> Result<OwnedSemaphorePermit, JobError> {
        // The semaphore is never closed; a closed one would mean the step is going away.
        Arc::clone(&self.0)
            .acquire_owned()
            .await
            .map_err(|_| JobError::Cancelled)
    }
}

/// Where a multipart upload's bytes come from.
pub(crate) trait PartSource: Send {
    /// Up to `max` next bytes; fewer only at the end, empty after it.
    async fn next_part(&mut self, max: usize) -> Result<PutPayload, JobError>;
}

impl PartSource for Source {
    async fn next_part(&mut self, max: usize) -> Result<PutPayload, JobError> {
        // Pieces of the reads the SFTP client pipelines, each read straight into its own
        // buffer: small allocations the allocator reuses, where 8 MiB ones left the process
        // holding more (copy_bench's peak RSS).
        let mut pieces = Vec::with_capacity(max.div_ceil(READ_BYTES));
        let mut filled = 0;
        while filled < max {
            let mut piece = vec![0u8; READ_BYTES.min(max - filled)];
            let read = self.next_chunk(&mut piece).await?.len();
            if read == 0 {
                break;
            }
            piece.truncate(read);
            filled += read;
            pieces.push(bytes::Bytes::from(piece));
        }
        Ok(pieces.into_iter().collect())
    }
}

/// A multipart upload of the whole source, aborted (nothing visible) on any error or when
/// `cancelled` turns true.
pub(crate) async fn upload_in_parts(
    store: &dyn ObjectStore,
    key: &ObjectPath,
    source: &mut impl PartSource,
    budget: &PartBudget,
    cancelled: &watch::Receiver<bool>,
) -> Result<(), JobError> {
    let failed = |what: &str, error: object_store::Error| {
        JobError::of_kind(
            store_kind(&error),
            format!("upload to {key} {what}: {error}"),
        )
    };
    let mut upload = store
        .put_multipart(key)
        .await
        .map_err(|error| failed("could not start", error))?;
    let streamed = stream_parts(upload.as_mut(), source, budget, cancelled)
        .await
        .map_err(|error| match error {
            PartError::Store(error) => failed("failed", error),
            PartError::Job(error) => error,
        });
    if let Err(error) = streamed {
        let _ = upload.abort().await;
        return Err(error);
    }
    upload
        .complete()
        .await
        .map(|_| ())
        .map_err(|error| failed("could not complete", error))
}

enum PartError {
    Store(object_store::Error),
    Job(JobError),
}

impl From<JobError> for PartError {
    fn from(error: JobError) -> Self {
        Self::Job(error)
    }
}

/// Puts every part of `source`; returns once all are stored. On an error the parts still in
/// flight are dropped with the `JoinSet` (their tasks aborted).
async fn stream_parts(
    upload: &mut dyn MultipartUpload,
    source: &mut impl PartSource,
    budget: &PartBudget,
    cancelled: &watch::Receiver<bool>,
) -> Result<(), PartError> {
    let mut parts = JoinSet::new();
    loop {
        if *cancelled.borrow() {
            return Err(JobError::Cancelled.into());
        }
        while parts.len() >= PARTS_PER_FILE {
            if let Some(stored) = parts.join_next().await {
                part_stored(stored)?;
            }
        }
        while let Some(stored) = parts.try_join_next() {
            part_stored(stored)?;
        }
        let permit = budget.take().await?;
        let data = source.next_part(PART_BYTES).await?;
        if data.content_length() == 0 {
            break;
        }
        let part = upload.put_part(data);
        parts.spawn(async move {
            let stored = part.await;
            drop(permit);
            stored
        });
    }
    while let Some(stored) = parts.join_next().await {
        part_stored(stored)?;
    }
    Ok(())
}

fn part_stored(joined: Result<object_store::Result<()>, JoinError>) -> Result<(), PartError> {
    match joined {
        Ok(stored) => stored.map_err(PartError::Store),
        Err(error) => Err(PartError::Job(JobError::Transient(format!(
            "a part's upload ended early: {error}"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta};
    use object_store::{PutMultipartOptions, PutOptions, PutResult, UploadPart};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// `left` bytes; each part's bytes are its number.
    struct Counting {
        left: usize,
        next: u8,
    }

    impl PartSource for Counting {
        async fn next_part(&mut self, max: usize) -> Result<PutPayload, JobError> {
            let take = self.left.min(max);
            self.left -= take;
            self.next = self.next.wrapping_add(1);
            Ok(PutPayload::from(vec![self.next; take]))
        }
    }

    /// An in-memory store whose parts take a while to be stored, as over a network, and that
    /// records how many parts were in flight at most.
    #[derive(Debug, Default)]
    struct SlowParts {
        inner: InMemory,
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    #[derive(Debug)]
    struct SlowUpload {
        inner: Box<dyn MultipartUpload>,
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for SlowUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let (stored, in_flight) = (self.inner.put_part(data), Arc::clone(&self.in_flight));
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                stored.await
            })
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.inner.complete().await
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            self.inner.abort().await
        }
    }

    impl std::fmt::Display for SlowParts {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("SlowParts")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for SlowParts {
        async fn put_opts(
            &self,
            location: &ObjectPath,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &ObjectPath,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            Ok(Box::new(SlowUpload {
                inner: self.inner.put_multipart_opts(location, opts).await?,
                in_flight: Arc::clone(&self.in_flight),
                most: Arc::clone(&self.most),
            }))
        }
        async fn get_opts(
            &self,
            location: &ObjectPath,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        async fn delete(&self, location: &ObjectPath) -> object_store::Result<()> {
            self.inner.delete(location).await
        }
        fn list(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&ObjectPath>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> object_store::Result<()> {
            self.inner.copy(from, to).await
        }
        async fn copy_if_not_exists(
            &self,
            from: &ObjectPath,
            to: &ObjectPath,
        ) -> object_store::Result<()> {
            self.inner.copy_if_not_exists(from, to).await
        }
    }

    async fn upload_files(files: usize, parts_each: usize, budget: &PartBudget) -> SlowParts {
        let store = SlowParts::default();
        let (_cancel, cancelled) = watch::channel(false);
        let uploads = (0..files).map(|n| {
            let (store, cancelled) = (&store, &cancelled);
            async move {
                let key = ObjectPath::from(format!("f{n}"));
                let mut source = Counting {
                    left: parts_each * PART_BYTES - 1,
                    next: 0,
                };
                upload_in_parts(store, &key, &mut source, budget, cancelled).await
            }
        });
        for uploaded in futures::future::join_all(uploads).await {
            uploaded.expect("uploaded");
        }
        store
    }

    #[tokio::test]
    async fn files_copied_together_share_one_budget_of_parts() {
        // Three files of four parts would put twelve in flight; the budget holds six.
        let store = upload_files(3, 4, &PartBudget::new(6)).await;
        assert_eq!(store.most.load(Ordering::SeqCst), 6);
        // Every object is whole, its parts in order.
        for n in 0..3 {
            let key = ObjectPath::from(format!("f{n}"));
            let bytes = store.inner.get(&key).await.expect("stored");
            let bytes = bytes.bytes().await.expect("read");
            assert_eq!(bytes.len(), 4 * PART_BYTES - 1);
            for (index, part) in bytes.chunks(PART_BYTES).enumerate() {
                assert!(
                    part.iter().all(|b| usize::from(*b) == index + 1),
                    "part {index}"
                );
            }
        }
    }

    #[tokio::test]
    async fn one_file_keeps_at_most_its_own_parts_in_flight() {
        let store = upload_files(1, PARTS_PER_FILE + 2, &PartBudget::new(PARTS_BUDGET)).await;
        assert_eq!(store.most.load(Ordering::SeqCst), PARTS_PER_FILE);
    }

    #[tokio::test]
    async fn a_cancelled_upload_leaves_no_object() {
        let store = SlowParts::default();
        let (cancel, cancelled) = watch::channel(false);
        cancel.send(true).expect("receiver alive");
        let key = ObjectPath::from("gone");
        let mut source = Counting {
            left: 3 * PART_BYTES,
            next: 0,
        };
        let budget = PartBudget::new(PARTS_BUDGET);
        let result = upload_in_parts(&store, &key, &mut source, &budget, &cancelled).await;
        assert!(matches!(result, Err(JobError::Cancelled)), "{result:?}");
        assert!(store.inner.head(&key).await.is_err());
    }
}
