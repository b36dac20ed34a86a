//! `connectors source new <name>`: writes a new source into this repository from the template in
//! `functions/connectors/templates/source/` — the module (a descriptor with a configuration
//! schema, a `DataSource` with paging and a cursor), its test through the conformance kit — and
//! registers it in `shared/sources/src/lib.rs`. The result compiles and passes its test at once:
//! `cargo test -p connectors-sources --test <name>`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

const MODULE: &str = include_str!("../templates/source/mod.rs.tmpl");
const TEST: &str = include_str!("../templates/source/test.rs.tmpl");

#[derive(clap::Args)]
pub struct NewSourceArgs {
    /// The service type, in snake_case (`my_notes`): the module's and the test's name.
    pub name: String,
    /// The repository to write into (the current directory by default).
    #[arg(long)]
    pub repo: Option<PathBuf>,
}

/// What was written, for the message.
pub struct Written {
    pub module: PathBuf,
    pub test: PathBuf,
}

pub fn run(args: &NewSourceArgs) -> Result<Written> {
    let repo = match &args.repo {
        Some(r) => r.clone(),
        None => std::env::current_dir()?,
    };
    generate(&repo, &args.name)
}

/// `my_notes` → `MyNotes`.
fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// `my_notes` → `My notes`.
fn title(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut c = spaced.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn fill(template: &str, name: &str) -> String {
    template
        .replace("__Camel__", &camel(name))
        .replace("__Title__", &title(name))
        .replace("__name__", name)
}

pub fn generate(repo: &Path, name: &str) -> Result<Written> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "'{name}' is not a snake_case name (lowercase letters, digits and _, starting with a letter)"
        );
    }
    let sources = repo.join("shared/sources");
    let lib = sources.join("src/lib.rs");
    let lib_text = std::fs::read_to_string(&lib).with_context(|| {
        format!(
            "{} not found: run this in the repository (or pass --repo)",
            lib.display()
        )
    })?;
    let module_dir = sources.join("src").join(name);
    let module = module_dir.join("mod.rs");
    let test = sources.join("tests").join(format!("{name}.rs"));
    if module_dir.exists() || sources.join("src").join(format!("{name}.rs")).exists() {
        bail!(
            "a source module '{name}' already exists in {}",
            sources.display()
        );
    }
    if test.exists() {
        bail!("{} already exists", test.display());
    }
    let registered = register(&lib_text, name)?;
    std::fs::create_dir_all(&module_dir)?;
    std::fs::write(&module, fill(MODULE, name))?;
    std::fs::write(&test, fill(TEST, name))?;
    std::fs::write(&lib, registered)?;
    Ok(Written { module, test })
}

/// `lib.rs` with `pub mod <name>;` among the modules and the source registered last in
/// `registry_with`.
fn register(lib: &str, name: &str) -> Result<String> {
    let module_line = format!("pub mod {name};\n");
    let Some(first_mod) = lib.find("pub mod ") else {
        bail!("no `pub mod` lines in shared/sources/src/lib.rs");
    };
    let mut out = String::with_capacity(lib.len() + 100);
    out.push_str(&lib[..first_mod]);
    out.push_str(&module_line);
    out.push_str(&lib[first_mod..]);
    let Some(end) = out.rfind("\n    r\n}") else {
        bail!("cannot find the end of registry_with() in shared/sources/src/lib.rs");
    };
    let line = format!("\n    r.register(Box::new({name}::{}Source));", camel(name));
    out.insert_str(end, &line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_registration() {
        assert_eq!(camel("my_notes"), "MyNotes");
        assert_eq!(title("my_notes"), "My notes");
        let lib = "//! x\n\npub mod dir;\n\npub fn registry_with() -> R {\n    let mut r = R::new();\n    r.register(Box::new(dir::D));\n    r\n}\n";
        let out = register(lib, "my_notes").unwrap();
        assert!(out.contains("pub mod my_notes;\npub mod dir;"));
        assert!(out.contains("r.register(Box::new(dir::D));\n    r.register(Box::new(my_notes::MyNotesSource));\n    r\n}"));
        assert!(generate(Path::new("/nonexistent"), "Bad-Name").is_err());
    }
}
