//! The module's C glue is declared to Rust once per header (`region_fs/regionfs_h.rs` for
//! `regionfs.h`, `rust/region_glue_h.rs` for `region_glue.h`), and the callbacks C makes into Rust
//! are the `unsafe extern "C" fn region_rs_*` of `region_fs/region_file.rs`. This test reads the
//! headers and the Rust files and fails if a function is missing on either side, or if its arity
//! or a parameter's or the result's type differ. The kernel build does not check this: a
//! mismatch would only show as a wrong call at run time.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A signature in a common spelling: parameter types, then the result type.
type Signatures = BTreeMap<String, (Vec<String>, String)>;

fn repo() -> &'static Path {
    // This crate is region_fs/core.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the repository")
}

fn read(path: &str) -> String {
    fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One spelling for a C type: `*mut inode`, `*const c_char`, `u64`, `()` ...
fn c_type(t: &str) -> String {
    let t = t.trim();
    let stars = t.matches('*').count();
    let base = t.replace('*', " ");
    let words: Vec<&str> = base.split_whitespace().collect();
    let is_const = words.first() == Some(&"const");
    let words: Vec<&str> = words
        .into_iter()
        .filter(|w| *w != "const" && *w != "struct")
        .collect();
    let base = match words.join(" ").as_str() {
        "int" => "c_int".to_string(),
        "long" => "c_long".to_string(),
        "unsigned long" => "c_ulong".to_string(),
        "unsigned int" => "c_uint".to_string(),
        "char" => "c_char".to_string(),
        "size_t" => "usize".to_string(),
        "void" if stars == 0 => "()".to_string(),
        "void" => "c_void".to_string(),
        "vm_fault_t" => "c_uint".to_string(),
        other => other.to_string(),
    };
    let mut out = base;
    for i in 0..stars {
        // Only the innermost pointer can be to const in these headers.
        let q = if i == 0 && is_const {
            "*const "
        } else {
            "*mut "
        };
        out = format!("{q}{out}");
    }
    out
}

/// One spelling for a Rust type, the same as [`c_type`]'s.
fn rust_type(t: &str) -> String {
    let t = t.trim().replace("bindings::", "").replace("kernel::", "");
    if let Some(rest) = t.strip_prefix("*mut ") {
        return format!("*mut {}", rust_type(rest));
    }
    if let Some(rest) = t.strip_prefix("*const ") {
        return format!("*const {}", rust_type(rest));
    }
    match t.as_str() {
        "" => "()".to_string(),
        "i32" => "c_int".to_string(),
        "VmFault" => "c_uint".to_string(),
        "RegionPmem" => "region_pmem".to_string(),
        other => other.to_string(),
    }
}

/// Drops `/* */` and `//` comments.
fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The prototypes of functions named `region_*` in a C header.
fn c_prototypes(header: &str) -> Signatures {
    let text = strip_comments(header);
    let mut out = Signatures::new();
    for decl in text.split(';') {
        let decl = decl.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(open) = decl.find('(') else { continue };
        let head = &decl[..open];
        let Some(name_at) = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')) else {
            continue;
        };
        let name = &head[name_at + 1..];
        if !name.starts_with("region_") {
            continue;
        }
        let ret = c_type(&head[..name_at + 1]);
        let params = &decl[open + 1..decl.rfind(')').expect("a closing parenthesis")];
        let params: Vec<String> = if params.trim() == "void" || params.trim().is_empty() {
            Vec::new()
        } else {
            params
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    // The parameter's name is its last word; what comes before is its type.
                    let at = p
                        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(0);
                    c_type(&p[..at + 1])
                })
                .collect()
        };
        out.insert(name.to_string(), (params, ret));
    }
    out
}

/// The functions named `region_*` declared or defined with `extern "C"` in Rust source: those in
/// `extern "C" { ... }` blocks, or `extern "C" fn` definitions.
fn rust_functions(src: &str, defined: bool) -> Signatures {
    let text = strip_comments(src);
    let mut out = Signatures::new();
    let needle = if defined { "extern \"C\" fn " } else { "fn " };
    let mut rest = text.as_str();
    while let Some(i) = rest.find(needle) {
        rest = &rest[i + needle.len()..];
        let open = rest.find('(').expect("a parameter list");
        let name = rest[..open].trim().to_string();
        let close = rest.find(')').expect("a closing parenthesis");
        let params: Vec<String> = rest[open + 1..close]
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| rust_type(p.split_once(':').expect("name: type").1))
            .collect();
        let after = &rest[close + 1..];
        let end = after.find([';', '{']).expect("an end");
        let ret = after[..end].trim().strip_prefix("->").unwrap_or("").trim();
        if name.starts_with("region_") {
            out.insert(name, (params, rust_type(ret)));
        }
    }
    out
}

fn compare(what: &str, c: &Signatures, rust: &Signatures) {
    let mut problems = Vec::new();
    for (name, sig) in c {
        match rust.get(name) {
            None => problems.push(format!("{name}: in the header, not in Rust")),
            Some(r) if r != sig => problems.push(format!("{name}: C {sig:?}, Rust {r:?}")),
            Some(_) => {}
        }
    }
    for name in rust.keys() {
        if !c.contains_key(name) {
            problems.push(format!("{name}: in Rust, not in the header"));
        }
    }
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
    assert!(!c.is_empty(), "{what}: no prototype found");
}

#[test]
fn regionfs_h_matches_its_extern_block_and_callbacks() {
    let header = read("region_fs/regionfs.h");
    let (provided, callbacks) = header
        .split_once("/* Provided by Rust")
        .expect("the header's two sections");
    let callbacks = callbacks.split_once("*/").expect("the comment ends").1;
    compare(
        "regionfs.h against region_fs/regionfs_h.rs",
        &c_prototypes(provided),
        &rust_functions(&read("region_fs/regionfs_h.rs"), false),
    );
    compare(
        "regionfs.h's callbacks against region_fs/region_file.rs",
        &c_prototypes(callbacks),
        &rust_functions(&read("region_fs/region_file.rs"), true),
    );
}

#[test]
fn region_glue_h_matches_its_extern_block_and_callback() {
    let header = read("rust/region_glue.h");
    let (provided, callbacks) = header
        .split_once("/* Provided by Rust")
        .expect("the header's two sections");
    let callbacks = callbacks.split_once("*/").expect("the comment ends").1;
    compare(
        "region_glue.h against rust/region_glue_h.rs",
        &c_prototypes(provided),
        &rust_functions(&read("rust/region_glue_h.rs"), false),
    );
    compare(
        "region_glue.h's callback against region_fs/device.rs",
        &c_prototypes(callbacks),
        &rust_functions(&read("region_fs/device.rs"), true),
    );
}

#[test]
fn the_checker_sees_a_wrong_type() {
    let c = c_prototypes("void region_x(struct inode *inode, u64 n);");
    let good = rust_functions(
        "extern \"C\" { fn region_x(inode: *mut bindings::inode, n: u64); }",
        false,
    );
    let bad = rust_functions(
        "extern \"C\" { fn region_x(inode: *mut c_void, n: u32); }",
        false,
    );
    assert_eq!(c, good);
    assert_ne!(c, bad);
}
