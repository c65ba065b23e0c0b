//! Checks the direction of dependencies inside the crate: http → graphql → hub, sales →
//! services. A layer may use those below it, never those above; modules use each other in no
//! cycle; and only the transports and the API speak GraphQL. Read from the source, so a change that turns
//! an arrow around fails here first.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    fs,
    path::{Path, PathBuf},
};

/// Each layer, and the top-level modules it must not use.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("services", &["sales", "hub", "graphql", "http", "server"]),
    ("sales", &["hub", "graphql", "http", "server"]),
    ("quality", &["hub", "graphql", "http", "server"]),
    ("hub", &["graphql", "http", "server"]),
    ("graphql", &["http", "server"]),
];

/// Layers that must not know GraphQL's types.
const PLAIN: &[&str] = &["services", "sales", "quality", "hub"];

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The code of a file without its comments (line comments are all this crate uses).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names after `crate::`, and after `super::` resolved against `module`, with
/// `{…}` groups expanded: `crate::a::{b, c::d}` is `a::b` and `a::c::d`.
fn paths_used(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (root, prefix) in [("crate::", Vec::new()), ("super::", parent(module))] {
        for (at, _) in code.match_indices(root) {
            let preceded_by_ident = code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if !preceded_by_ident {
                let mut rest = &code[at + root.len()..];
                use_tree(&mut rest, prefix.clone(), &mut paths);
            }
        }
    }
    paths
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// Reads one use tree (`a::b`, `a::{b, c::*}`) from the start of `rest`.
fn use_tree(rest: &mut &str, mut prefix: Vec<String>, paths: &mut Vec<Vec<String>>) {
    *rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        *rest = group;
        loop {
            *rest = rest.trim_start();
            match rest.chars().next() {
                None => return,
                Some('}') => {
                    *rest = &rest[1..];
                    return;
                }
                Some(',') => *rest = &rest[1..],
                Some(_) => {
                    let before = rest.len();
                    use_tree(rest, prefix.clone(), paths);
                    if rest.len() == before {
                        *rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
                    }
                }
            }
        }
    }
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
        .collect();
    *rest = &rest[name.len()..];
    if !["", "self", "*"].contains(&name.as_str()) {
        prefix.push(name);
    }
    match rest.strip_prefix("::") {
        Some(more) => {
            *rest = more;
            use_tree(rest, prefix, paths);
        }
        None => {
            // Skip an alias so the group's next item is read next.
            if let Some(alias) = rest.trim_start().strip_prefix("as ") {
                let alias = alias.trim_start();
                let len = alias
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .count();
                *rest = &alias[len..];
            }
            paths.push(prefix);
        }
    }
}

/// Each source file's module path: `src/services/leads.rs` is `services::leads`, a `mod.rs`
/// its folder's module, `lib.rs` the crate root.
fn modules() -> Vec<(PathBuf, Vec<String>)> {
    sources(&src())
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src()).unwrap_or(&file).with_extension("");
            let mut module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module
                .last()
                .is_some_and(|last| last == "mod" || last == "lib")
            {
                module.pop();
            }
            (file, module)
        })
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn layers_use_only_the_layers_below_them() {
    let mut wrong = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        for (file, module) in modules()
            .iter()
            .filter(|(_, m)| m.first() == Some(&layer.to_string()))
        {
            for path in paths_used(&code(file), module) {
                if path
                    .first()
                    .is_some_and(|first| forbidden.contains(&first.as_str()))
                {
                    wrong.push(format!(
                        "{} uses crate::{}",
                        file.display(),
                        path.join("::")
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn services_and_the_hub_speak_plain_rust() {
    let wrong: Vec<_> = PLAIN
        .iter()
        .flat_map(|layer| sources(&src().join(layer)))
        .filter(|file| code(file).contains("async_graphql"))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// No two modules (down to the second level: `services::leads`, `hub::process`) use each
/// other, however indirectly: a cycle means neither can be understood, tested or moved alone.
#[test]
fn modules_use_each_other_in_no_cycle() {
    let modules = modules();
    let known: HashSet<&[String]> = modules.iter().map(|(_, m)| m.as_slice()).collect();
    let node = |path: &[String]| -> Vec<String> {
        let mut end = path.len();
        while end > 0 && !known.contains(&path[..end]) {
            end -= 1;
        }
        path[..end.min(2)].to_vec()
    };
    let mut uses: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (file, module) in &modules {
        let from = node(module);
        for path in paths_used(&code(file), module) {
            let to = node(&path);
            // A module and its own parts may know each other; the root holds no code.
            if !to.is_empty()
                && !from.is_empty()
                && !to.starts_with(&from)
                && !from.starts_with(&to)
            {
                uses.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    let cycle = find_cycle(&uses);
    assert!(
        cycle.is_none(),
        "{:?}",
        cycle.map(|c| c.iter().map(|m| m.join("::")).collect::<Vec<_>>())
    );
}

/// A path that leads from a module back to itself, if there is one.
fn find_cycle(uses: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    let mut done: BTreeSet<&Vec<String>> = BTreeSet::new();
    for start in uses.keys() {
        // Depth first, keeping the path walked; each module is left for good once explored.
        let mut path: Vec<(&Vec<String>, Vec<&Vec<String>>)> = Vec::new();
        if done.contains(start) {
            continue;
        }
        path.push((start, uses[start].iter().collect()));
        while let Some((module, next)) = path.last_mut() {
            let module = *module;
            match next.pop() {
                Some(to) if path.iter().any(|(m, _)| *m == to) => {
                    let from = path.iter().position(|(m, _)| *m == to).unwrap_or(0);
                    return Some(path[from..].iter().map(|(m, _)| (*m).clone()).collect());
                }
                Some(to) if !done.contains(to) => {
                    let onward = uses.get(to).map(|s| s.iter().collect()).unwrap_or_default();
                    path.push((to, onward));
                }
                Some(_) => {}
                None => {
                    done.insert(module);
                    path.pop();
                }
            }
        }
    }
    None
}

#[test]
fn the_reader_sees_grouped_aliased_and_relative_paths() {
    let code = "use crate::{\n    actor::Actor,\n    hub::{self, x as y, z},\n    services::{a, b::{c, d::*}},\n};\nlet h = crate::graphql::x; super::leads::f();";
    let module = ["services".to_string(), "filter".to_string()];
    let paths: Vec<String> = paths_used(code, &module)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "actor::Actor",
            "hub",
            "hub::x",
            "hub::z",
            "services::a",
            "services::b::c",
            "services::b::d",
            "graphql::x",
            "services::leads::f"
        ]
    );
}
