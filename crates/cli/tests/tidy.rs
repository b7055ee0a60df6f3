//! The README's lists of `creditkit` commands and flags match the binary.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_creditkit"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "creditkit {args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// `--long` flags in a help text.
fn flags(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|f| {
            f.trim_end_matches([',', '.', ']'])
                .split(['=', '<'])
                .next()
                .unwrap()
                .to_string()
        })
        .filter(|f| !f.is_empty() && f != "help" && f != "version")
        .collect()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap()
}

#[test]
fn every_serve_flag_is_in_the_readme_and_no_other() {
    let readme = readme();
    let served = flags(&help(&["serve"]));
    assert!(served.len() >= 10, "{served:?}");
    for f in &served {
        assert!(
            readme.contains(&format!("`--{f}")),
            "README.md does not mention `--{f}` (creditkit serve)"
        );
    }
    // The README's serve flags section names only real flags.
    let section = readme
        .split("<!-- serve-flags -->")
        .nth(1)
        .and_then(|s| s.split("<!-- /serve-flags -->").next())
        .expect("README.md marks its serve flags with <!-- serve-flags -->");
    for f in flags(section) {
        assert!(
            served.contains(&f),
            "README.md names `--{f}`, which `creditkit serve` does not take"
        );
    }
}

#[test]
fn every_command_answers_help_and_version_and_is_in_the_readme() {
    let readme = readme();
    let version = Command::new(env!("CARGO_BIN_EXE_creditkit"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("creditkit "));
    let top = help(&[]);
    for cmd in ["serve", "admin", "card", "estimate", "packs"] {
        assert!(top.contains(cmd), "{cmd} in --help");
        help(&[cmd]);
    }
    for (group, subs) in [
        ("card", &["check", "diff", "schema"][..]),
        (
            "admin",
            &[
                "key",
                "workspace",
                "card",
                "apikey",
                "member",
                "session",
                "grant",
                "revoke",
                "balance",
            ][..],
        ),
    ] {
        for sub in subs {
            help(&[group, sub]);
            assert!(
                readme.contains(&format!("creditkit {group} {sub}")),
                "README.md does not show `creditkit {group} {sub}`"
            );
        }
    }
    // A subcommand's subcommands answer --version too (propagated).
    let v = Command::new(env!("CARGO_BIN_EXE_creditkit"))
        .args(["admin", "key", "create", "--version"])
        .output()
        .unwrap();
    assert!(v.status.success());
}
