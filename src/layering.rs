//! Checks the direction of dependencies inside the crate: http → graphql → hub → services. A
//! layer may use those below it, never those above; and only the transports and the API speak
//! GraphQL. Read from the source, so a change that turns an arrow around fails here first.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// Each layer, and the top-level modules it must not use.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("services", &["hub", "graphql", "http", "server"]),
    ("hub", &["graphql", "http", "server"]),
    ("graphql", &["http", "server"]),
];

/// Layers that must not know GraphQL's types.
const PLAIN: &[&str] = &["services", "hub"];

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

/// The top-level modules a file names: `crate::a::…` paths and the first segment of each item
/// of a `use crate::{a, b::…}` group.
fn modules_used(code: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        used.push(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            used.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    used
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn layers_use_only_the_layers_below_them() {
    let mut wrong = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        for file in sources(&src().join(layer)) {
            for module in modules_used(&code(&file)) {
                if forbidden.contains(&module.as_str()) {
                    wrong.push(format!("{} uses crate::{module}", file.display()));
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

#[test]
fn the_reader_sees_grouped_and_plain_paths() {
    let code = "use crate::{\n    actor::Actor,\n    hub::{self, x},\n    services::{a, b::{c}},\n};\nlet h = crate::graphql::x;";
    assert_eq!(
        modules_used(code),
        ["actor", "hub", "services", "graphql"].map(String::from)
    );
}
