//! What the source reads from the configured query, on its syntax tree alone (as the reference,
//! nothing is checked against the server's schema): that it parses, that it holds no mutation
//! or subscription, that the mapped objects, their id fields and the pagination key are selected,
//! and which variable feeds the `after` argument of the paginated field.
//!
//! The parser is `graphql-parser` (graphql-rust). Its messages are its own, after the
//! reference's `Failed to parse GraphQL query. Error: `; it refuses selections nested deeper
//! than 50 levels, which the reference's graphql-core accepts.

use std::collections::HashMap;

use graphql_parser::query::{
    Definition, Document, OperationDefinition, Selection, SelectionSet, Value,
};

/// A parsed query.
pub(super) struct Query<'a> {
    doc: Document<'a, &'a str>,
}

/// The arguments a field (by name, anywhere in the query) is called with, as the reference's
/// `FieldVisitor` records them: the last occurrence of a name wins.
#[derive(Debug, Default)]
pub(super) struct FieldArguments {
    /// Field name -> its argument names.
    pub names: HashMap<String, Vec<String>>,
    /// Field name -> argument name -> the variable passed to it (`after: $cursor`).
    pub variables: HashMap<String, HashMap<String, String>>,
    /// Field name -> the arguments given a literal value.
    pub literals: HashMap<String, Vec<String>>,
}

impl<'a> Query<'a> {
    /// Parses `text`; the error is the parser's message.
    pub fn parse(text: &'a str) -> Result<Query<'a>, String> {
        graphql_parser::parse_query::<&str>(text)
            .map(|doc| Query { doc })
            .map_err(|e| e.to_string().trim_end().to_string())
    }

    /// The reference's `is_query`: no operation is a mutation or a subscription.
    pub fn is_query(&self) -> bool {
        self.doc.definitions.iter().all(|d| {
            !matches!(
                d,
                Definition::Operation(
                    OperationDefinition::Mutation(_) | OperationDefinition::Subscription(_)
                )
            )
        })
    }

    /// The reference's `check_field_existence`: whether the dotted `path` of field names (aliases
    /// are not looked at) is selected in the first query of the document, and whether the
    /// object at its end selects `id_field` directly. Fragments are not looked into.
    pub fn field_exists(&self, path: &str, id_field: Option<&str>) -> (bool, bool) {
        let parts: Vec<&str> = path.split('.').collect();
        for definition in &self.doc.definitions {
            let selection_set = match definition {
                Definition::Operation(OperationDefinition::SelectionSet(s)) => s,
                Definition::Operation(OperationDefinition::Query(q)) => &q.selection_set,
                _ => continue,
            };
            return traverse(selection_set, &parts, id_field);
        }
        (false, false)
    }

    /// Every field's arguments, visiting the whole document (fragments too) in order.
    pub fn field_arguments(&self) -> FieldArguments {
        let mut out = FieldArguments::default();
        for definition in &self.doc.definitions {
            let selection_set = match definition {
                Definition::Operation(OperationDefinition::SelectionSet(s)) => s,
                Definition::Operation(OperationDefinition::Query(q)) => &q.selection_set,
                Definition::Operation(OperationDefinition::Mutation(m)) => &m.selection_set,
                Definition::Operation(OperationDefinition::Subscription(s)) => &s.selection_set,
                Definition::Fragment(f) => &f.selection_set,
            };
            visit(selection_set, &mut out);
        }
        out
    }
}

fn traverse<'a>(
    set: &SelectionSet<'a, &'a str>,
    path: &[&str],
    id_field: Option<&str>,
) -> (bool, bool) {
    let Some((first, rest)) = path.split_first() else {
        return (false, false);
    };
    for selection in &set.items {
        let Selection::Field(field) = selection else {
            continue;
        };
        if field.name != *first {
            continue;
        }
        if rest.is_empty() {
            let has_id = id_field.is_some_and(|id| {
                field
                    .selection_set
                    .items
                    .iter()
                    .any(|s| matches!(s, Selection::Field(f) if f.name == id))
            });
            return (true, has_id);
        }
        if !field.selection_set.items.is_empty() {
            return traverse(&field.selection_set, rest, id_field);
        }
    }
    (false, false)
}

fn visit<'a>(set: &SelectionSet<'a, &'a str>, out: &mut FieldArguments) {
    for selection in &set.items {
        match selection {
            Selection::Field(field) => {
                let name = field.name.to_string();
                let mut names = Vec::new();
                let mut variables = HashMap::new();
                let mut literals = Vec::new();
                for (arg, value) in &field.arguments {
                    names.push(arg.to_string());
                    match value {
                        Value::Variable(v) => {
                            variables.insert(arg.to_string(), v.to_string());
                        }
                        _ => literals.push(arg.to_string()),
                    }
                }
                out.names.insert(name.clone(), names);
                out.variables.insert(name.clone(), variables);
                out.literals.insert(name, literals);
                visit(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => visit(&fragment.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_mutations_and_parse_errors() {
        assert!(Query::parse("invalid_query {user {}}").is_err());
        assert!(Query::parse("{ users { id } }").unwrap().is_query());
        assert!(
            Query::parse("query Q { a } fragment F on User { id }")
                .unwrap()
                .is_query()
        );
        assert!(
            !Query::parse("mutation { addUser(name: \"x\") { id } }")
                .unwrap()
                .is_query()
        );
        assert!(
            !Query::parse("subscription { users { id } }")
                .unwrap()
                .is_query()
        );
    }

    #[test]
    fn fields_are_found_as_the_reference_finds_them() {
        let q = Query::parse("query {organization {repository { issues {name}}} a: other { id }}")
            .unwrap();
        assert_eq!(
            q.field_exists("organization.repository.pullRequest", Some("id")),
            (false, false)
        );
        assert_eq!(
            q.field_exists("organization.repository.issues", Some("id")),
            (true, false)
        );
        assert_eq!(
            q.field_exists("organization.repository.issues", Some("name")),
            (true, true)
        );
        assert_eq!(q.field_exists("organization", None), (true, false));
        // Aliases are not names; the first matching name is the only one followed.
        assert_eq!(q.field_exists("a", Some("id")), (false, false));
        assert_eq!(q.field_exists("other", Some("id")), (true, true));
        // Only the first query counts.
        let q = Query::parse("query A { x { id } } query B { y { id } }").unwrap();
        assert_eq!(q.field_exists("y", Some("id")), (false, false));
    }

    #[test]
    fn arguments_and_variables() {
        let q = Query::parse(
            "query($c: String) { org { users(first: 5, after: $c) { nodes { id } pageInfo { endCursor } } } }",
        )
        .unwrap();
        let args = q.field_arguments();
        assert_eq!(args.names["users"], ["first", "after"]);
        assert_eq!(args.variables["users"]["after"], "c");
        assert_eq!(args.literals["users"], ["first"]);
        assert!(args.names.contains_key("pageInfo"));
    }
}
