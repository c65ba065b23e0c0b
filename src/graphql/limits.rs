//! Refuses documents that are cheap to send and expensive to run: many aliases of one field
//! (enumeration and amplification) and many root fields in one operation. Depth and cost have
//! async-graphql's own limits.

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

#[derive(Clone, Copy)]
pub struct DocumentLimits {
    pub max_aliases: usize,
    pub max_root_fields: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations: Vec<&SelectionSet> = match &document.operations {
            DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
            DocumentOperations::Multiple(ops) => {
                ops.values().map(|op| &op.node.selection_set.node).collect()
            }
        };
        for root in &operations {
            if root.items.len() > self.max_root_fields {
                return Err(ServerError::new(
                    format!(
                        "an operation may select at most {} root fields",
                        self.max_root_fields
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
        if aliases > self.max_aliases {
            return Err(ServerError::new(
                format!("a document may use at most {} aliases", self.max_aliases),
                None,
            ));
        }
        Ok(document)
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
