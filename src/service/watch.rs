//! Reloading the configuration when its files change (feature `watch`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::shared::SharedMesh;
use crate::config::{LoadOptions, Loaded};

/// Watches manifest files or folders and stores a new mesh whenever they change; stops when
/// dropped. A change that does not load or compile is logged and refused: the running
/// configuration keeps serving.
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The newest modification time and the number of manifest files under `paths`.
fn fingerprint(paths: &[PathBuf]) -> (Option<SystemTime>, usize) {
    fn visit(
        path: &std::path::Path,
        depth: usize,
        newest: &mut Option<SystemTime>,
        count: &mut usize,
    ) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            if depth > 32 {
                return;
            }
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    visit(&entry.path(), depth + 1, newest, count);
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
            *count += 1;
            if let Ok(modified) = meta.modified() {
                *newest = Some(newest.map_or(modified, |n| n.max(modified)));
            }
        }
    }
    let mut newest = None;
    let mut count = 0;
    for path in paths {
        visit(path, 0, &mut newest, &mut count);
    }
    (newest, count)
}

fn reload(shared: &SharedMesh, paths: &[PathBuf], options: &LoadOptions) {
    let mut loaded = Loaded::default();
    for path in paths {
        match crate::from_path(path, options) {
            Ok(more) => loaded.extend(more),
            Err(error) => {
                tracing::warn!(%error, "configuration not reloaded");
                return;
            }
        }
    }
    if loaded.has_errors() {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            tracing::warn!(diagnostic = %d, "configuration not reloaded");
        }
        return;
    }
    if let Err(error) = shared.store_resources(loaded.resources) {
        for d in error.errors() {
            tracing::warn!(diagnostic = %d, "configuration not reloaded");
        }
    }
}

impl SharedMesh {
    /// Polls `paths` (files or folders, as [`from_path`](crate::from_path) reads them) every
    /// `interval` and stores a new mesh when a file changes, appears or disappears. Runs on its
    /// own thread until the returned [`Watcher`] is dropped.
    pub fn watch(
        &self,
        paths: Vec<PathBuf>,
        interval: Duration,
        options: LoadOptions,
    ) -> std::io::Result<Watcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = self.clone();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("meshroute-watch".into())
            .spawn(move || {
                let mut last = fingerprint(&paths);
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    let now = fingerprint(&paths);
                    if now != last {
                        last = now;
                        tracing::info!("configuration files changed; reloading");
                        reload(&shared, &paths, &options);
                    }
                }
            })?;
        Ok(Watcher {
            stop,
            thread: Some(thread),
        })
    }
}
