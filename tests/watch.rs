//! `SharedMesh::watch` (feature `watch`): edits are applied once they have settled, a broken
//! edit is refused, every kind of change is noticed (a write right after `watch` returns, an
//! older copy restored over a file, files added to and removed from a folder), a file is never
//! served half written, and dropping the watcher returns at once.
//!
//! Every wait polls the mesh with a deadline; no test sleeps to an exact instant.
#![cfg(feature = "watch")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use meshroute::{LoadOptions, SharedMesh, Source};

/// A fresh folder for one test.
fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meshroute-watch-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A VirtualService `w` for `svc-w` sending everything to `subset`.
fn vs(subset: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: w}}\nspec:\n  hosts: [svc-w]\n  http:\n  - route: [{{destination: {{host: svc-w, subset: {subset}}}}}]\n"
    )
}

/// The subset `shared` sends `http://svc-w/` to.
fn subset(shared: &SharedMesh) -> Option<String> {
    let mesh = shared.load();
    let request = http::Request::get("http://svc-w/").body(()).unwrap();
    mesh.route(&request, &Source::default())
        .destination()
        .and_then(|d| d.subset.map(str::to_owned))
}

/// Waits (10 s at most) until `shared` sends to `want`.
fn wait_for(shared: &SharedMesh, want: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if subset(shared).as_deref() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// A mesh loaded from `path`, as an application would start.
fn shared_from(path: &Path) -> SharedMesh {
    let loaded = meshroute::from_path(path, &LoadOptions::default()).unwrap();
    SharedMesh::new(loaded.compile().unwrap())
}

fn set_modified(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn watch(shared: &SharedMesh, dir: &Path, interval: Duration) -> meshroute::Watcher {
    shared
        .watch(vec![dir.to_owned()], interval, LoadOptions::default())
        .unwrap()
}

/// Editing a watched file swaps the mesh; a broken edit is refused and the working mesh keeps
/// serving.
#[test]
fn edits_are_applied_and_broken_edits_refused() {
    let dir = folder("edit");
    let file = dir.join("vs.yaml");
    std::fs::write(&file, vs("v1")).unwrap();
    let shared = shared_from(&dir);
    assert_eq!(subset(&shared).as_deref(), Some("v1"));
    let watcher = watch(&shared, &dir, Duration::from_millis(20));
    std::fs::write(&file, vs("v2")).unwrap();
    assert!(wait_for(&shared, "v2"), "the edit was not picked up");
    std::fs::write(
        &file,
        vs("v3").replace("subset: v3}}", "subset: v3}, weight: -1}"),
    )
    .unwrap();
    // Then a valid edit: once it is served, the broken one must have been seen and refused.
    let deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < deadline {
        assert_eq!(
            subset(&shared).as_deref(),
            Some("v2"),
            "a broken edit must not replace the mesh"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(&file, vs("v4")).unwrap();
    assert!(wait_for(&shared, "v4"), "a valid edit after a broken one");
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files are fingerprinted before `watch` returns: a write right after it is applied, even
/// one that keeps the file's length and modification time (only its content differs).
#[test]
fn a_write_right_after_watch_returns_is_applied() {
    let dir = folder("right-after");
    let file = dir.join("vs.yaml");
    std::fs::write(&file, vs("v1")).unwrap();
    let time = SystemTime::now() - Duration::from_secs(100);
    set_modified(&file, time);
    let shared = shared_from(&dir);
    let watcher = watch(&shared, &dir, Duration::from_millis(20));
    std::fs::write(&file, vs("v2")).unwrap();
    set_modified(&file, time);
    assert!(
        wait_for(&shared, "v2"),
        "a write right after watch() was missed"
    );
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file replaced by an older copy of the same length (a restored backup: its modification
/// time goes back, the other file is the newest and the file count is unchanged) is noticed.
#[test]
fn an_older_copy_replacing_a_file_is_noticed() {
    let dir = folder("older");
    let routes = dir.join("a-routes.yaml");
    let other = dir.join("b-other.yaml");
    let now = SystemTime::now();
    std::fs::write(&routes, vs("v1")).unwrap();
    set_modified(&routes, now - Duration::from_secs(100));
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
    )
    .unwrap();
    set_modified(&other, now - Duration::from_secs(10));
    let shared = shared_from(&dir);
    let watcher = watch(&shared, &dir, Duration::from_millis(20));
    // Let the watcher read the files once more after their modification times settle.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(&routes, vs("v2")).unwrap();
    set_modified(&routes, now - Duration::from_secs(200));
    assert!(
        wait_for(&shared, "v2"),
        "a file replaced by an older copy was missed"
    );
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Files added to and removed from a watched folder are changes.
#[test]
fn files_added_and_removed_are_noticed() {
    let dir = folder("added");
    std::fs::write(dir.join("a.yaml"), vs("v1")).unwrap();
    let shared = shared_from(&dir);
    let watcher = watch(&shared, &dir, Duration::from_millis(20));
    // A later file redefines `w` (a warning, not an error): its definition wins.
    std::fs::create_dir_all(dir.join("more")).unwrap();
    std::fs::write(dir.join("more/b.yaml"), vs("v2")).unwrap();
    assert!(wait_for(&shared, "v2"), "an added file was missed");
    std::fs::remove_file(dir.join("more/b.yaml")).unwrap();
    assert!(wait_for(&shared, "v1"), "a removed file was missed");
    std::fs::write(dir.join("more/c.yml"), vs("v3")).unwrap();
    assert!(wait_for(&shared, "v3"));
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file written in two halves, with a pause shorter than the polling interval between them,
/// is never served half way, even though the first half alone is a valid configuration: a
/// change is applied only once the files have stayed the same for a whole interval.
#[test]
fn a_file_written_in_two_halves_is_never_served_half_way() {
    let interval = Duration::from_millis(200);
    let pause = Duration::from_millis(100);
    let dir = folder("halves");
    let file = dir.join("vs.yaml");
    std::fs::write(&file, vs("v1")).unwrap();
    let shared = shared_from(&dir);
    let watcher = watch(&shared, &dir, interval);
    // The first half routes to `half`; the whole file defines `w` again, routing to `whole`.
    let first = vs("half");
    let second = format!("---\n{}", vs("whole"));
    let mut conclusive = 0;
    for round in 0..3 {
        let mut seen = Vec::new();
        let started = Instant::now();
        std::fs::write(&file, &first).unwrap();
        while started.elapsed() < pause {
            seen.extend(subset(&shared));
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut append = std::fs::File::options().append(true).open(&file).unwrap();
        std::io::Write::write_all(&mut append, second.as_bytes()).unwrap();
        drop(append);
        let gap = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && subset(&shared).as_deref() != Some("whole") {
            seen.extend(subset(&shared));
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(subset(&shared).as_deref(), Some("whole"), "round {round}");
        // A machine too busy to write the second half within the interval proves nothing.
        if gap < interval {
            conclusive += 1;
            assert!(
                !seen.iter().any(|s| s == "half"),
                "round {round}: the half-written file was served ({gap:?} between the halves)"
            );
        }
        std::fs::write(&file, vs("v1")).unwrap();
        assert!(wait_for(&shared, "v1"), "round {round}: reset");
    }
    assert!(
        conclusive > 0,
        "the machine never wrote both halves in time"
    );
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Dropping the watcher returns at once, whatever its interval, and nothing is stored after it
/// returns.
#[test]
fn dropping_the_watcher_returns_at_once() {
    let dir = folder("drop");
    let file = dir.join("vs.yaml");
    std::fs::write(&file, vs("v1")).unwrap();
    let shared = shared_from(&dir);
    let slow = watch(&shared, &dir, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    drop(slow);
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(100),
        "dropping the watcher took {took:?}"
    );

    let fast = watch(&shared, &dir, Duration::from_millis(10));
    drop(fast);
    std::fs::write(&file, vs("v2")).unwrap();
    let deadline = Instant::now() + Duration::from_millis(200);
    while Instant::now() < deadline {
        assert_eq!(subset(&shared).as_deref(), Some("v1"), "stored after drop");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
