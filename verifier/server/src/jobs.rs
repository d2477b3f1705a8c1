//! The bridge from async code to CPU work: jobs run on the rayon pool, never on a tokio worker,
//! and face embeddings from many sessions are batched into shared model runs.
//!
//! `on_rayon` is the one way async code runs CPU work. `EmbedBatcher` owns a queue: requests
//! arriving within `max_wait` of the first (up to `max_batch` faces) share one ONNX run, which
//! costs less per face than separate runs and keeps the one session per model busy.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vision::face::{AlignedFace, Embedding, FaceEmbedder};
use vision::model::ModelError;

/// Why a job produced no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The job panicked (a bug); the panic was contained to the job.
    #[error("a CPU job panicked")]
    Panicked,
    /// The batcher has shut down.
    #[error("the embedding queue is closed")]
    Closed,
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The job's session ended before the job started; it was not run.
    #[error("the job was cancelled")]
    Cancelled,
}

/// Runs `job` on the rayon pool and waits for it without blocking the async runtime.
pub async fn on_rayon<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, JobError> {
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        // The receiver may have gone (the request was cancelled); the result is then unused.
        let _ = tx.send(result);
    });
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) | Err(_) => Err(JobError::Panicked),
    }
}

/// Like [`on_rayon`], but the job is skipped (and [`JobError::Cancelled`] returned) when
/// `cancelled` is set by the time the pool reaches it: a session that ended does not keep the
/// pool busy with frames nobody will read.
pub async fn on_rayon_unless<T: Send + 'static>(
    cancelled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        if cancelled.load(std::sync::atomic::Ordering::Acquire) {
            let _ = tx.send(Err(JobError::Cancelled));
            return;
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).map_err(|_| JobError::Panicked);
        let _ = tx.send(result);
    });
    rx.await.unwrap_or(Err(JobError::Panicked))
}

/// Batching settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// Most faces in one model run.
    pub max_batch: usize,
    /// How long the first request of a batch waits for others.
    pub max_wait: Duration,
}

struct Request {
    faces: Vec<AlignedFace>,
    reply: oneshot::Sender<Result<Vec<Embedding>, JobError>>,
}

/// A queue that embeds faces from many callers in shared batches.
#[derive(Clone)]
pub struct EmbedBatcher {
    queue: mpsc::Sender<Request>,
}

impl EmbedBatcher {
    /// Starts the batching task on the current tokio runtime.
    pub fn start(embedder: FaceEmbedder, config: BatchConfig) -> Self {
        let (queue, rx) = mpsc::channel(1024);
        tokio::spawn(run_batches(embedder, config, rx));
        Self { queue }
    }

    /// Embeds `faces`, in order, as part of whatever batch is being gathered.
    pub async fn embed(&self, faces: Vec<AlignedFace>) -> Result<Vec<Embedding>, JobError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, rx) = oneshot::channel();
        self.queue.send(Request { faces, reply }).await.map_err(|_| JobError::Closed)?;
        rx.await.map_err(|_| JobError::Closed)?
    }
}

async fn run_batches(embedder: FaceEmbedder, config: BatchConfig, mut rx: mpsc::Receiver<Request>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let mut size = batch[0].faces.len();
        let deadline = tokio::time::Instant::now() + config.max_wait;
        while size < config.max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(next)) => {
                    size += next.faces.len();
                    batch.push(next);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let embedder = embedder.clone();
        let faces: Vec<AlignedFace> = batch.iter().flat_map(|r| r.faces.iter().cloned()).collect();
        let result = on_rayon(move || embedder.embed(&faces)).await;
        let mut embeddings = match result {
            Ok(Ok(all)) => all.into_iter(),
            Ok(Err(e)) => {
                reply_all(batch, &JobError::Model(e));
                continue;
            }
            Err(e) => {
                reply_all(batch, &e);
                continue;
            }
        };
        for request in batch {
            let mine: Vec<Embedding> = embeddings.by_ref().take(request.faces.len()).collect();
            let _ = request.reply.send(Ok(mine));
        }
    }
}

fn reply_all(batch: Vec<Request>, error: &JobError) {
    for request in batch {
        let _ = request.reply.send(Err(error.clone()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use verifier_models::{Channels, Layout, ModelSpec, Preprocess, TensorSpec};
    use vision::face::{DetectedFace, FaceBox, align_face};
    use vision::frame::Frame;
    use vision::model::{Model, Outputs, Tensor};

    use super::*;

    /// A fake embedder recording its batch sizes; the embedding is the crop's mean colour.
    struct MeanColour {
        batches: Mutex<Vec<usize>>,
    }

    impl Model for MeanColour {
        fn name(&self) -> &str {
            "mean-colour"
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            let t = &inputs[0];
            let n = t.shape[0];
            self.batches.lock().unwrap().push(n);
            let per = t.data.len() / n;
            let mut data = Vec::new();
            for face in t.data.chunks(per) {
                for c in 0..3 {
                    data.push(face.iter().skip(c).step_by(3).sum::<f32>() / (per / 3) as f32);
                }
            }
            Ok(Outputs(vec![("emb".into(), Tensor { shape: vec![n, 3], data })]))
        }
    }

    fn embedder(model: Arc<MeanColour>) -> FaceEmbedder {
        let spec = ModelSpec {
            name: "mean-colour".into(),
            file: "fake.onnx".into(),
            sha256: String::new(),
            task: "face_embedding".into(),
            licence: String::new(),
            origin: String::new(),
            url: None,
            inputs: vec![TensorSpec { name: "x".into(), shape: vec![-1, 8, 8, 3] }],
            outputs: vec![TensorSpec { name: "emb".into(), shape: vec![-1, 3] }],
            preprocess: Some(Preprocess {
                layout: Layout::Nhwc,
                channels: Channels::Rgb,
                scale: 1.0,
                mean: [0.0; 3],
                size: Some([8, 8]),
                multiple_of: None,
            }),
            embedding_output: None,
            align: None,
            crop_scale: None,
            mirror_average: false,
        };
        FaceEmbedder::from_spec(model, &spec).expect("the fake spec is complete")
    }

    /// An 8x8 aligned crop of a uniform colour.
    fn crop(rgb: [u8; 3]) -> AlignedFace {
        let frame = Frame::from_rgb(image::RgbImage::from_pixel(200, 200, image::Rgb(rgb)));
        let face = DetectedFace {
            bbox: FaceBox { x: 50.0, y: 50.0, width: 100.0, height: 100.0 },
            score: 1.0,
            landmarks: [[80.0, 90.0], [120.0, 90.0], [100.0, 110.0], [85.0, 130.0], [115.0, 130.0]],
        };
        align_face(&frame, &face, 8).expect("landmarks are not degenerate")
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_run_and_get_their_own_results() {
        let model = Arc::new(MeanColour { batches: Mutex::new(Vec::new()) });
        let batcher = EmbedBatcher::start(
            embedder(model.clone()),
            BatchConfig { max_batch: 8, max_wait: Duration::from_secs(5) },
        );
        let colours: Vec<[u8; 3]> = (0..8u8).map(|i| [10 + 30 * i, 200 - 20 * i, 7]).collect();
        let calls: Vec<_> = colours
            .iter()
            .map(|&c| {
                let b = batcher.clone();
                tokio::spawn(async move { b.embed(vec![crop(c)]).await })
            })
            .collect();
        let mut results = Vec::new();
        for call in calls {
            results.push(call.await.expect("the task ran").expect("every request is answered"));
        }
        assert_eq!(*model.batches.lock().unwrap(), vec![8], "one run for eight faces");
        for (colour, result) in colours.iter().zip(&results) {
            let expected = embedder(model.clone()).embed(&[crop(*colour)]).unwrap();
            assert!(
                (result[0].cosine(&expected[0]).expect("one model") - 1.0).abs() < 1e-6,
                "each caller gets its own embedding"
            );
        }
    }

    /// On tokio's paused clock (time moves only when every task waits on a timer), so the wait
    /// is measured exactly, not raced against the machine's load.
    #[tokio::test(start_paused = true)]
    async fn a_lone_request_waits_max_wait_and_no_longer() {
        let model = Arc::new(MeanColour { batches: Mutex::new(Vec::new()) });
        let max_wait = Duration::from_secs(60);
        let batcher = EmbedBatcher::start(embedder(model.clone()), BatchConfig { max_batch: 8, max_wait });
        let started = tokio::time::Instant::now();
        let out = batcher.embed(vec![crop([90, 60, 30]), crop([30, 60, 90])]).await.unwrap();
        assert_eq!(out.len(), 2);
        let waited = started.elapsed();
        assert!(waited >= max_wait && waited < max_wait + Duration::from_secs(1), "{waited:?}");
        assert_eq!(*model.batches.lock().unwrap(), vec![2]);
        assert!(batcher.embed(Vec::new()).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_job_does_not_run() {
        let cancelled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let result = on_rayon_unless(cancelled, move || flag.store(true, std::sync::atomic::Ordering::SeqCst)).await;
        assert_eq!(result, Err(JobError::Cancelled));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        let live = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        assert_eq!(on_rayon_unless(live, || 7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_crash() {
        let result = on_rayon(|| -> u8 { panic!("a bug inside a job") }).await;
        assert_eq!(result, Err(JobError::Panicked));
        assert_eq!(on_rayon(|| 41 + 1).await, Ok(42));
    }
}
