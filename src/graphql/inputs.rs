//! Refuses input that could take the process down or that no store keeps, before anything
//! parses or coerces it: documents nested deeper than the parser can safely recurse, argument
//! values and variables nested deeper than `max_input_depth`, and text holding NUL (PostgreSQL
//! refuses it in text and JSON, so it would fail deep inside a write).
//!
//! Parsing, validation and coercion of input objects all recurse once per level of nesting, and
//! a stack overflow aborts the whole process, so the bounds here are far below where that
//! happens (the parser alone overflowed a 2 MiB stack at a few hundred levels).

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

use crate::error::AppError;

/// Deepest bracket nesting (`{`, `[`, `(`) a document may have. Selections (at most
/// `max_depth`) and argument values (at most `max_input_depth`) fit well inside it.
pub const MAX_NESTING: usize = 64;

/// Refuses a document whose brackets nest deeper than `MAX_NESTING`, without parsing it.
/// Brackets inside strings and comments do not count.
pub fn check_nesting(query: &str) -> Result<(), AppError> {
    let mut depth = 0usize;
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(AppError::bad_input(
                        "query",
                        format!("the document nests deeper than {MAX_NESTING} levels"),
                    ));
                }
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => skip_string(&mut chars),
            _ => {}
        }
    }
    Ok(())
}

/// Moves past a string whose opening quote was just read: a block string (`"""…"""`) or a
/// plain one with backslash escapes. An unterminated string runs to the end, which the parser
/// then refuses.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    if chars.next_if_eq(&'"').is_some() {
        if chars.next_if_eq(&'"').is_none() {
            return; // `""`, the empty string
        }
        let mut quotes = 0;
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    quotes += 1;
                    if quotes == 3 {
                        return;
                    }
                }
                // `\"""` is an escaped triple quote inside a block string.
                '\\' => {
                    quotes = 0;
                    while chars.next_if_eq(&'"').is_some() {}
                }
                _ => quotes = 0,
            }
        }
        return;
    }
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' | '\r' => return,
            '\\' => drop(chars.next()),
            _ => {}
        }
    }
}

/// Refuses a variable that nests deeper than `max_depth` or holds NUL, naming it.
pub fn check_variables(variables: &Variables, max_depth: usize) -> Result<(), AppError> {
    variables
        .iter()
        .try_for_each(|(name, value)| check(value, &format!("${name}"), max_depth))
}

/// Refuses an argument value or variable default that nests deeper than `max_depth` or holds
/// NUL, naming the argument or variable.
pub fn check_document(document: &ExecutableDocument, max_depth: usize) -> Result<(), AppError> {
    let mut sets: Vec<&SelectionSet> = Vec::new();
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        for variable in &operation.variable_definitions {
            if let Some(default) = &variable.node.default_value {
                check(
                    &default.node,
                    &format!("${}", variable.node.name.node),
                    max_depth,
                )?;
            }
        }
        check_directives(&operation.directives, max_depth)?;
        sets.push(&operation.selection_set.node);
    }
    for fragment in document.fragments.values() {
        check_directives(&fragment.node.directives, max_depth)?;
        sets.push(&fragment.node.selection_set.node);
    }
    // Selection sets nest at most `MAX_NESTING` deep (checked before parsing); a work list
    // walks them without recursion all the same.
    while let Some(set) = sets.pop() {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    check_arguments(&field.node.arguments, max_depth)?;
                    check_directives(&field.node.directives, max_depth)?;
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    check_directives(&fragment.node.directives, max_depth)?;
                    sets.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    check_directives(&spread.node.directives, max_depth)?;
                }
            }
        }
    }
    Ok(())
}

fn check_directives(
    directives: &[Positioned<Directive>],
    max_depth: usize,
) -> Result<(), AppError> {
    directives
        .iter()
        .try_for_each(|d| check_arguments(&d.node.arguments, max_depth))
}

fn check_arguments(
    arguments: &[(Positioned<Name>, Positioned<Value>)],
    max_depth: usize,
) -> Result<(), AppError> {
    arguments
        .iter()
        .try_for_each(|(name, value)| check(&value.node, name.node.as_str(), max_depth))
}

/// A GraphQL value as the checks see it: text, or the values it holds with their keys.
trait Tree {
    fn text(&self) -> Option<&str>;
    fn children(&self) -> Vec<(Option<&str>, &Self)>;
}

macro_rules! tree {
    ($value:ty) => {
        impl Tree for $value {
            fn text(&self) -> Option<&str> {
                match self {
                    Self::String(text) => Some(text),
                    _ => None,
                }
            }

            fn children(&self) -> Vec<(Option<&str>, &Self)> {
                match self {
                    Self::List(items) => items.iter().map(|item| (None, item)).collect(),
                    Self::Object(fields) => fields
                        .iter()
                        .map(|(key, value)| (Some(key.as_str()), value))
                        .collect(),
                    _ => Vec::new(),
                }
            }
        }
    };
}

tree!(Value);
tree!(ConstValue);

/// Walks `value` with a work list rather than recursion, so no input can exhaust the stack.
fn check<T: Tree>(value: &T, field: &str, max_depth: usize) -> Result<(), AppError> {
    let mut pending = vec![(value, 1usize)];
    while let Some((value, depth)) = pending.pop() {
        if depth > max_depth {
            return Err(AppError::bad_input(
                field,
                format!("the value nests deeper than {max_depth} levels"),
            ));
        }
        if value.text().is_some_and(|text| text.contains('\0')) {
            return Err(AppError::bad_input(
                field,
                "text may not contain NUL characters",
            ));
        }
        for (key, child) in value.children() {
            if key.is_some_and(|key| key.contains('\0')) {
                return Err(AppError::bad_input(
                    field,
                    "keys may not contain NUL characters",
                ));
            }
            pending.push((child, depth + 1));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        "{".repeat(levels) + &"}".repeat(levels)
    }

    #[test]
    fn brackets_count_up_to_the_ceiling() {
        assert!(check_nesting(&nested(MAX_NESTING)).is_ok());
        assert!(check_nesting(&nested(MAX_NESTING + 1)).is_err());
        assert!(check_nesting(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let brackets = "{".repeat(MAX_NESTING + 1);
        for query in [
            format!("{{ a(s: \"{brackets}\") }}"),
            format!("{{ a(s: \"\\\"{brackets}\") }}"),
            format!("{{ a(s: \"\"\"{brackets} \\\"\"\" {brackets}\"\"\") }}"),
            format!("{{ a # {brackets}\n }}"),
            format!("{{ a(s: \"\", t: \"{brackets}\") }}"),
        ] {
            assert!(check_nesting(&query).is_ok(), "{query}");
        }
        let open = format!("{{ a(s: \"x\") {} }}", "{".repeat(MAX_NESTING + 1));
        assert!(check_nesting(&open).is_err());
    }

    #[test]
    fn values_are_bounded_in_depth_and_refuse_nul() {
        let mut value = ConstValue::Null;
        for _ in 0..10 {
            value = ConstValue::List(vec![value]);
        }
        assert!(check(&value, "v", 11).is_ok());
        assert!(check(&value, "v", 10).is_err());
        let text = ConstValue::String("a\0b".into());
        assert!(check(&text, "v", 5).is_err());
    }
}
