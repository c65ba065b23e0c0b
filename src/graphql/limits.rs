//! Refuses documents that are cheap to send and expensive to run: deep nesting (`inputs`), many
//! aliases of one field (enumeration and amplification) and many root fields in one operation.
//! Selection depth and cost have async-graphql's own limits.
//!
//! This runs before execution rather than as a schema extension: the executor reuses the parse,
//! and a schema with any extension wraps every field it resolves in the extension chain.

use async_graphql::{
    Request, ServerError, ServerResult,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};

use crate::{config::Config, error::AppError, graphql::inputs};

/// A refusal that keeps its cause, so it is answered with the cause's code and field.
pub fn refused(error: AppError) -> ServerError {
    let mut refused = ServerError::new(error.to_string(), None);
    refused.source = Some(std::sync::Arc::new(error));
    refused
}

/// Parses the request's document once, for the executor to reuse, and refuses it when it is over
/// the limits. Answers the operation it would run, unless the document leaves that open.
pub fn admit(config: &Config, request: &mut Request) -> ServerResult<Option<Operation>> {
    inputs::check_nesting(&request.query).map_err(refused)?;
    inputs::check_variables(&request.variables, config.max_input_depth).map_err(refused)?;
    let operation_name = request.operation_name.clone();
    let document = request.parsed_query()?;
    inputs::check_document(document, config.max_input_depth).map_err(refused)?;
    let operations: Vec<&SelectionSet> = match &document.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|op| &op.node.selection_set.node).collect()
        }
    };
    for root in &operations {
        if root.items.len() > config.max_root_fields {
            return Err(ServerError::new(
                format!(
                    "an operation may select at most {} root fields",
                    config.max_root_fields
                ),
                None,
            ));
        }
    }
    let fragments = document
        .fragments
        .values()
        .map(|f| &f.node.selection_set.node);
    let aliases: usize = operations
        .into_iter()
        .chain(fragments)
        .map(count_aliases)
        .sum();
    if aliases > config.max_aliases {
        return Err(ServerError::new(
            format!("a document may use at most {} aliases", config.max_aliases),
            None,
        ));
    }
    Ok(selected(document, operation_name.as_deref()))
}

/// The cost of a connection field for the complexity limit: its page size (20 when the client
/// names none, counted up to 100) times the cost of one node.
pub fn page_cost(first: Option<i32>, last: Option<i32>, node_cost: usize) -> usize {
    let size = first.or(last).map_or(20, |n| n.clamp(0, 100));
    usize::try_from(size).unwrap_or(0) * node_cost
}

/// The operation the request would run, as the executor picks it: the one named, or the only one.
pub struct Operation {
    pub ty: OperationType,
    /// Its name in the document, when it has one.
    pub name: Option<String>,
}

fn selected(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<Operation> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(Operation {
            ty: op.node.ty,
            name: None,
        }),
        (DocumentOperations::Multiple(ops), Some(wanted)) => ops
            .iter()
            .find(|(name, _)| name.as_str() == wanted)
            .map(|(name, op)| Operation {
                ty: op.node.ty,
                name: Some(name.to_string()),
            }),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(name, op)| Operation {
                ty: op.node.ty,
                name: Some(name.to_string()),
            })
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}
