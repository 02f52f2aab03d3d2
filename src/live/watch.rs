//! Reloading the configuration when its files change.
//!
//! A polling thread fingerprints every manifest file (its length, modification time, on Unix its
//! inode and status-change time, and a hash of its content) once per interval. A change is
//! applied when two polls in a row find the same new fingerprint, so a file that is still being
//! written is never loaded: the writer must have left the files alone for a whole interval. What
//! is loaded is the very content that was found stable: the files are read once more, checked
//! against the fingerprint's hashes, and loaded from the bytes read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::shared::SharedMesh;
use crate::config::load::{LoadError, LoadOptions, from_texts, manifest_files};

/// Watches manifest files or folders and stores a new mesh whenever they change; stops when
/// dropped. Dropping returns at once: it waits neither for the polling interval nor for a reload
/// in progress, and no mesh is stored after it returns. A change that does not load or compile is
/// logged and refused: the running configuration keeps serving.
#[derive(Debug)]
pub struct Watcher {
    control: Arc<Control>,
}

/// What the watcher and its thread share.
#[derive(Debug, Default)]
struct Control {
    /// Set when the watcher is dropped; held by the thread while it stores a mesh.
    stopped: Mutex<bool>,
    /// Wakes the thread from its wait when the watcher is dropped.
    wake: Condvar,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // The thread holds this lock while it stores a mesh, so once the flag is set no mesh is
        // stored any more. The thread is not joined: it may be reading or compiling a large
        // configuration, which it abandons when it sees the flag.
        *self.control.lock() = true;
        self.control.wake.notify_all();
    }
}

/// What a poll knows about one file. Two states are the same change-wise when everything but
/// `read_at` agrees.
#[derive(Debug, Clone)]
struct FileState {
    len: u64,
    modified: Option<SystemTime>,
    /// Unix: the inode and the status-change time, which every write and every rename over the
    /// file moves and no tool can set back (unlike the modification time, which `cp -p`,
    /// `touch -d` and archive tools restore).
    #[cfg(unix)]
    changed: (u64, i64, i64),
    /// xxHash64 of the content (`None`: the file could not be read).
    hash: Option<u64>,
    /// When the content was last read.
    read_at: SystemTime,
}

impl PartialEq for FileState {
    fn eq(&self, other: &Self) -> bool {
        #[cfg(unix)]
        let changed = self.changed == other.changed;
        #[cfg(not(unix))]
        let changed = true;
        self.len == other.len
            && self.modified == other.modified
            && changed
            && self.hash == other.hash
    }
}

/// Timestamps can be coarse (a second or two on some file systems): a file modified less than
/// this before its content was read may have been written again since without its metadata
/// showing it, so its content is read again at the next poll.
const TIMESTAMP_SLACK: Duration = Duration::from_secs(2);

impl FileState {
    fn metadata(meta: &std::fs::Metadata, hash: Option<u64>, read_at: SystemTime) -> Self {
        #[cfg(unix)]
        let changed = {
            use std::os::unix::fs::MetadataExt;
            (meta.ino(), meta.ctime(), meta.ctime_nsec())
        };
        Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            changed,
            hash,
            read_at,
        }
    }

    /// Whether the hash of `self` still describes a file whose metadata is `now`'s: the metadata
    /// agree and the content was read well after the last modification.
    fn hash_still_valid(&self, now: &FileState) -> bool {
        let metadata_agree = FileState {
            hash: now.hash,
            ..self.clone()
        } == *now;
        let settled = self
            .modified
            .and_then(|m| m.checked_add(TIMESTAMP_SLACK))
            .is_some_and(|m| m < self.read_at);
        #[cfg(unix)]
        let settled = settled && {
            let (_, seconds, nanos) = self.changed;
            let changed = u64::try_from(seconds).ok().map(|s| {
                SystemTime::UNIX_EPOCH
                    + Duration::from_secs(s)
                    + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
            });
            changed
                .and_then(|c| c.checked_add(TIMESTAMP_SLACK))
                .is_some_and(|c| c < self.read_at)
        };
        metadata_agree && settled
    }
}

/// The state of every manifest under the watched paths, keyed by the position of the path it
/// was found under and its own path (so iterating gives the loader's order). A path that cannot
/// be listed (a missing file or folder) has one entry, itself, with no state.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fingerprint {
    files: BTreeMap<(usize, PathBuf), Option<FileState>>,
}

fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

/// Fingerprints `paths`, reusing the hashes of `previous` for files whose metadata has not moved
/// since their content was read (and was read well after their last modification).
fn fingerprint(paths: &[PathBuf], previous: &Fingerprint) -> Fingerprint {
    let mut files = BTreeMap::new();
    for (root, path) in paths.iter().enumerate() {
        let Ok(list) = manifest_files(path) else {
            files.insert((root, path.clone()), None);
            continue;
        };
        for file in list {
            let key = (root, file);
            let state = std::fs::metadata(&key.1).ok().map(|meta| {
                let now = SystemTime::now();
                let mut state = FileState::metadata(&meta, None, now);
                match previous.files.get(&key) {
                    Some(Some(old)) if old.hash_still_valid(&state) => {
                        state.hash = old.hash;
                        state.read_at = old.read_at;
                    }
                    _ => state.hash = std::fs::read(&key.1).ok().map(|b| hash(&b)),
                }
                state
            });
            files.insert(key, state);
        }
    }
    Fingerprint { files }
}

/// When to apply a change: the fingerprint that differs from the applied one must be seen by two
/// polls in a row.
#[derive(Debug, Default)]
struct Debounce {
    applied: Fingerprint,
    pending: Option<Fingerprint>,
}

impl Debounce {
    /// Takes one poll's fingerprint; returns it when it is a change that has now been stable for
    /// a whole interval.
    fn observe(&mut self, now: Fingerprint) -> Option<Fingerprint> {
        if now == self.applied {
            self.pending = None;
            None
        } else if self.pending.as_ref() == Some(&now) {
            self.pending = None;
            Some(now)
        } else {
            self.pending = Some(now);
            None
        }
    }
}

/// Why a stable fingerprint was not loaded.
enum Unread {
    /// A file's content no longer has the hash fingerprinted: it is being written again.
    Changed,
    /// A file cannot be read or is not text.
    Failed(LoadError),
}

/// Reads every file of `stable` and loads them if their contents are still the ones
/// fingerprinted.
fn load_stable(
    paths: &[PathBuf],
    stable: &Fingerprint,
    options: &LoadOptions,
) -> Result<crate::config::load::Loaded, Unread> {
    let mut texts: Vec<(usize, &Path, String)> = Vec::with_capacity(stable.files.len());
    for ((root, file), state) in &stable.files {
        let Some(state) = state else {
            // The path could not be listed: let the loader say why.
            let path = paths.get(*root).unwrap_or(file);
            return Err(Unread::Failed(match manifest_files(path) {
                Err(error) => error,
                Ok(_) => return Err(Unread::Changed),
            }));
        };
        let bytes = std::fs::read(file).map_err(|source| {
            Unread::Failed(LoadError::Io {
                path: file.clone(),
                source,
            })
        })?;
        if Some(hash(&bytes)) != state.hash {
            return Err(Unread::Changed);
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| Unread::Failed(LoadError::NotUtf8 { path: file.clone() }))?;
        texts.push((*root, file, text));
    }
    let roots = (0..paths.len()).map(|root| {
        texts
            .iter()
            .filter(|(r, ..)| *r == root)
            .map(|(_, file, text)| (*file, text.as_str()))
            .collect::<Vec<_>>()
    });
    Ok(from_texts(roots, options))
}

/// The polling thread: until the watcher is dropped, fingerprints `paths` every `interval` and
/// stores a new mesh when a change has been stable for one interval.
fn poll(
    shared: &SharedMesh,
    control: &Control,
    paths: &[PathBuf],
    interval: Duration,
    options: &LoadOptions,
    mut debounce: Debounce,
) {
    loop {
        let stopped = control.lock();
        let (stopped, _) = control
            .wake
            .wait_timeout_while(stopped, interval, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        if *stopped {
            return;
        }
        drop(stopped);
        let now = fingerprint(paths, &debounce.applied);
        let Some(stable) = debounce.observe(now) else {
            continue;
        };
        tracing::info!("configuration files changed; reloading");
        let loaded = match load_stable(paths, &stable, options) {
            Ok(loaded) => loaded,
            Err(Unread::Changed) => {
                // Written again since the last poll: wait for it to settle.
                continue;
            }
            Err(Unread::Failed(error)) => {
                tracing::warn!(%error, "configuration not reloaded");
                debounce.applied = stable;
                continue;
            }
        };
        // A configuration that fails is not tried again until the files change once more.
        debounce.applied = stable;
        if *control.lock() {
            return;
        }
        let compiled = loaded.compile();
        let stopped = control.lock();
        if *stopped {
            return;
        }
        if let Err(error) = shared.store_compiled(compiled) {
            for d in error.errors() {
                tracing::warn!(diagnostic = %d, "configuration not reloaded");
            }
        }
        drop(stopped);
    }
}

impl SharedMesh {
    /// Polls `paths` (files or folders, as [`from_path`](crate::from_path) reads them) every
    /// `interval` and stores a new mesh when a file changes, appears or disappears and then
    /// stays the same for one more interval (so that a file is never read half written). Runs on
    /// its own thread until the returned [`Watcher`] is dropped.
    ///
    /// The files are fingerprinted before this returns, so a change made right after it is
    /// seen. A change is noticed whatever it does to the modification time (an older copy
    /// restored over a file, a rewrite within the same timestamp): files are compared by
    /// length, modification time, inode and status-change time (Unix) and content hash. A file
    /// is read again at a poll only when its metadata moved or it was modified within about two
    /// seconds of its last reading, so an unchanged configuration costs a `stat` per file and
    /// interval.
    pub fn watch(
        &self,
        paths: Vec<PathBuf>,
        interval: Duration,
        options: LoadOptions,
    ) -> std::io::Result<Watcher> {
        let control = Arc::new(Control::default());
        let debounce = Debounce {
            applied: fingerprint(&paths, &Fingerprint::default()),
            pending: None,
        };
        let shared = self.clone();
        let thread_control = Arc::clone(&control);
        std::thread::Builder::new()
            .name("meshroute-watch".into())
            .spawn(move || {
                poll(
                    &shared,
                    &thread_control,
                    &paths,
                    interval,
                    &options,
                    debounce,
                )
            })?;
        Ok(Watcher { control })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(len: u64, hash: u64) -> Option<FileState> {
        Some(FileState {
            len,
            modified: Some(SystemTime::UNIX_EPOCH),
            #[cfg(unix)]
            changed: (1, 0, 0),
            hash: Some(hash),
            read_at: SystemTime::UNIX_EPOCH,
        })
    }

    fn print(files: &[(&str, Option<FileState>)]) -> Fingerprint {
        Fingerprint {
            files: files
                .iter()
                .map(|(name, state)| ((0, PathBuf::from(name)), state.clone()))
                .collect(),
        }
    }

    /// A change is applied only when two polls in a row see it: a file written in two halves
    /// between polls is applied whole, never half way.
    #[test]
    fn changes_apply_after_one_stable_interval() {
        let old = print(&[("a.yaml", state(10, 1))]);
        let half = print(&[("a.yaml", state(5, 2))]);
        let whole = print(&[("a.yaml", state(12, 3))]);
        let mut debounce = Debounce {
            applied: old.clone(),
            pending: None,
        };
        assert_eq!(debounce.observe(old.clone()), None);
        assert_eq!(
            debounce.observe(half.clone()),
            None,
            "first sight of the half"
        );
        assert_eq!(debounce.observe(whole.clone()), None, "changed again");
        assert_eq!(debounce.observe(whole.clone()), Some(whole.clone()));
        debounce.applied = whole.clone();
        assert_eq!(debounce.observe(whole.clone()), None, "applied once");
        // A change that is undone before the next poll is no change.
        assert_eq!(debounce.observe(half.clone()), None);
        assert_eq!(debounce.observe(whole), None);
        assert_eq!(debounce.observe(half.clone()), None);
        assert_eq!(debounce.observe(half.clone()), Some(half));
    }

    /// Files appearing and disappearing are changes; so is a same-length rewrite that only the
    /// content hash shows.
    #[test]
    fn fingerprints_differ_by_files_and_content() {
        let one = print(&[("a.yaml", state(10, 1))]);
        let two = print(&[("a.yaml", state(10, 1)), ("b.yaml", state(3, 9))]);
        let rewritten = print(&[("a.yaml", state(10, 4))]);
        assert_ne!(one, two);
        assert_ne!(one, rewritten);
        let mut later = one.clone();
        if let Some(Some(s)) = later.files.values_mut().next() {
            s.read_at = SystemTime::now();
        }
        assert_eq!(one, later, "when a file was read is no change");
    }
}
