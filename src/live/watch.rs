//! Reloading the configuration when its files change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::shared::SharedMesh;
use crate::config::load::{LoadOptions, Loaded, from_path};

/// Watches manifest files or folders and stores a new mesh whenever they change; stops when
/// dropped (at once: dropping never waits for a polling interval). A change that does not
/// load or compile is logged and refused: the running configuration keeps serving.
#[derive(Debug)]
pub struct Watcher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // Closing the channel wakes the thread from its wait.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every manifest file under `paths` with its modification time and size: any difference
/// (a file added, removed, rewritten — even with an older time, as when an older copy is
/// restored) is a change.
type Fingerprint = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    fn visit(path: &Path, depth: usize, out: &mut Fingerprint) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            if depth > 32 {
                return;
            }
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    visit(&entry.path(), depth + 1, out);
                }
            }
            return;
        }
        let manifest = depth == 0
            || matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            );
        if manifest {
            out.insert(path.to_owned(), (meta.modified().ok(), meta.len()));
        }
    }
    let mut out = Fingerprint::new();
    for path in paths {
        visit(path, 0, &mut out);
    }
    out
}

fn reload(shared: &SharedMesh, paths: &[PathBuf], options: &LoadOptions) {
    let mut loaded = Loaded::default();
    for path in paths {
        match from_path(path, options) {
            Ok(more) => loaded.extend(more),
            Err(error) => {
                tracing::warn!(%error, "configuration not reloaded");
                return;
            }
        }
    }
    if let Err(error) = shared.store_compiled(loaded.compile()) {
        for d in error.errors() {
            tracing::warn!(diagnostic = %d, "configuration not reloaded");
        }
    }
}

impl SharedMesh {
    /// Polls `paths` (files or folders, as [`from_path`](crate::from_path) reads them) every
    /// `interval` and stores a new mesh when a file changes, appears or disappears and then
    /// stays the same for one more interval (so that a file is never read half written). Runs on
    /// its own thread until the returned [`Watcher`] is dropped. Changes made after this
    /// returns are seen (the files are fingerprinted before it returns).
    pub fn watch(
        &self,
        paths: Vec<PathBuf>,
        interval: Duration,
        options: LoadOptions,
    ) -> std::io::Result<Watcher> {
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = self.clone();
        let mut last = fingerprint(&paths);
        let thread = std::thread::Builder::new()
            .name("meshroute-watch".into())
            .spawn(move || {
                // A change is applied once the files have stayed the same for one interval:
                // an editor or `cp` that truncates and then writes must not be read half way
                // (an empty file is a valid, empty configuration).
                let mut pending: Option<Fingerprint> = None;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let now = fingerprint(&paths);
                    if now == last {
                        pending = None;
                    } else if pending.as_ref() == Some(&now) {
                        pending = None;
                        last = now;
                        tracing::info!("configuration files changed; reloading");
                        reload(&shared, &paths, &options);
                    } else {
                        pending = Some(now);
                    }
                }
            })?;
        Ok(Watcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}
