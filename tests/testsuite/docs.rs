//! The README and `docs/` stay honest: every relative link (and its `#anchor`) resolves, every
//! command line in a shell block names a real subcommand of the binary with flags its `--help`
//! lists, every code block says its language (rustdoc compiles untagged blocks as Rust), every
//! page with Rust examples is compiled as doctests, and the README stays a front door.
//!
//! Escape hatch for an illustrative command line that cannot match the binary: end it with the
//! comment `# not checked`. Keep such lines rare.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

/// The README is a front door, not the manual.
const README_MAX_LINES: usize = 300;

/// Info strings of the blocks whose lines are shell commands.
const SHELLS: [&str; 4] = ["sh", "bash", "shell", "console"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, then every docs/*.md in name order.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![root().join("README.md")];
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A path as the repository names it, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Markdown, as far as these checks need it.

/// A fenced code block.
struct Block {
    /// The info string after the opening fence (`rust,no_run`, `sh`, ...).
    info: String,
    /// Line number (from 1) of the opening fence.
    line: usize,
    lines: Vec<String>,
}

impl Block {
    /// The language: the info string up to the first comma or space.
    fn lang(&self) -> &str {
        self.info
            .split(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("")
    }
}

/// A page split into its prose (code blocks blanked, so line numbers stay) and its blocks.
struct Page {
    prose: Vec<String>,
    blocks: Vec<Block>,
}

/// The fence a line opens or closes with: a run of three or more backticks or tildes.
fn fence_of(trimmed: &str) -> Option<&str> {
    let c = trimmed.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = trimmed.chars().take_while(|&x| x == c).count();
    (n >= 3).then(|| &trimmed[..n])
}

fn parse(path: &Path) -> Page {
    let text = read(path);
    let mut prose = Vec::new();
    let mut blocks = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.as_mut() {
            None => match fence_of(trimmed) {
                Some(fence) => {
                    let block = Block {
                        info: trimmed[fence.len()..].trim().to_string(),
                        line: i + 1,
                        lines: Vec::new(),
                    };
                    open = Some((fence.to_string(), block));
                    prose.push(String::new());
                }
                None => prose.push(line.to_string()),
            },
            Some((fence, block)) => {
                prose.push(String::new());
                let closes = fence_of(trimmed).is_some_and(|f| {
                    f.starts_with(fence.as_str()) && trimmed[f.len()..].trim().is_empty()
                });
                if closes {
                    let (_, block) = open.take().expect("a block is open");
                    blocks.push(block);
                } else {
                    block.lines.push(line.to_string());
                }
            }
        }
    }
    if let Some((_, block)) = open {
        panic!(
            "{}:{}: a code block is never closed",
            shown(path),
            block.line
        );
    }
    Page { prose, blocks }
}

fn link_re() -> Regex {
    // [text](target) or [text](target "title"); images too (the `!` is left before it).
    Regex::new(r#"\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)"#).unwrap()
}

fn code_span_re() -> Regex {
    Regex::new(r"`[^`]*`").unwrap()
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other than `-` and
/// `_` dropped; link text counts, link targets do not.
fn slug(heading: &str) -> String {
    let text = link_re().replace_all(heading, "$1");
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings (a repeated heading gets `-1`, `-2`, ... as on GitHub).
fn anchors(page: &Page) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashSet::new();
    for line in &page.prose {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 {
            continue;
        }
        let rest = &t[hashes..];
        if !rest.is_empty() && !rest.starts_with(' ') {
            continue;
        }
        let base = slug(rest.trim().trim_end_matches('#'));
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Links.

#[test]
fn every_relative_link_points_at_an_existing_file_and_heading() {
    let links = link_re();
    let spans = code_span_re();
    let mut anchors_of: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut problems = Vec::new();
    for path in pages() {
        let page = parse(&path);
        for (i, line) in page.prose.iter().enumerate() {
            // A link inside a code span is not a link; the span's text is not needed.
            let line = spans.replace_all(line, "C");
            for cap in links.captures_iter(&line) {
                let target = &cap[2];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target, None),
                };
                let at = format!("{}:{}: `{target}`", shown(&path), i + 1);
                let resolved = if file.is_empty() {
                    path.clone()
                } else {
                    path.parent().expect("a page has a folder").join(file)
                };
                if !resolved.exists() {
                    problems.push(format!("{at}: no such file or folder"));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if resolved.extension().is_none_or(|x| x != "md") {
                    continue;
                }
                let key = resolved.canonicalize().expect("it exists");
                let known = anchors_of
                    .entry(key)
                    .or_insert_with(|| anchors(&parse(&resolved)));
                if !known.contains(anchor) {
                    problems.push(format!(
                        "{at}: {} has no heading with the anchor `#{anchor}`",
                        shown(&resolved)
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Commands.

/// What the binary says about one command path (`[]`, `["check"]`, `["shapes"]`, ...).
struct Help {
    flags: HashSet<String>,
    subcommands: Vec<String>,
}

fn help_of(path: &[String]) -> Help {
    let out = Command::new(env!("CARGO_BIN_EXE_finapi-conformance"))
        .args(path)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "`finapi-conformance {} --help` failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let flags = Regex::new(r"--[a-z][a-z0-9-]*")
        .unwrap()
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect();
    // clap lists subcommands under "Commands:", one per line, indented by two spaces.
    let subcommands = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    Help { flags, subcommands }
}

/// The line without its trailing `# comment` (outside quotes), and the comment.
fn strip_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut after_space = true;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && after_space => return (&line[..i], line[i + 1..].trim()),
            None => {}
        }
        after_space = c.is_whitespace();
    }
    (line, "")
}

/// A shell block's command lines, continuation lines joined, with the line number each starts
/// on; in a `console` block only the lines after a `$ ` prompt.
fn command_lines(block: &Block) -> Vec<(usize, String)> {
    let console = block.lang() == "console";
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in block.lines.iter().enumerate() {
        let line = if current.is_some() || !console {
            raw.as_str()
        } else {
            match raw.trim_start().strip_prefix("$ ") {
                Some(l) => l,
                None => continue,
            }
        };
        let (text, continues) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t, true),
            None => (line, false),
        };
        let entry = current.get_or_insert_with(|| (block.line + 1 + i, String::new()));
        entry.1.push_str(text);
        entry.1.push(' ');
        if !continues {
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// The arguments given to the binary on a command line: after `finapi-conformance`, or after
/// the `--` of `cargo run [...] --`; up to the end of that command (a pipe, `&&`, `;`, `>`).
fn invocations(line: &str) -> Vec<String> {
    let bin = Regex::new(r"(?:^|[\s;&|(/])finapi-conformance\s+([a-z].*)").unwrap();
    let cargo = Regex::new(r"\bcargo\s+run\b[^;&]*?\s--\s+([a-z].*)").unwrap();
    let mut out = Vec::new();
    for re in [&bin, &cargo] {
        for cap in re.captures_iter(line) {
            let args = &cap[1];
            let end = [" | ", " && ", " || ", ";", " > ", " >> ", " 2>", " &"]
                .iter()
                .filter_map(|sep| args.find(sep))
                .min()
                .unwrap_or(args.len());
            out.push(args[..end].to_string());
        }
    }
    out
}

#[test]
fn every_command_in_a_shell_block_names_a_real_subcommand_and_real_flags() {
    let quoted = Regex::new(r#"'[^']*'|"[^"]*""#).unwrap();
    let flag = Regex::new(r"(?:^|[\s\[(])(--[a-z][a-z0-9-]*)").unwrap();
    let mut helps: HashMap<Vec<String>, Help> = HashMap::new();
    let mut checked = 0;
    let mut problems = Vec::new();
    for path in pages() {
        let page = parse(&path);
        for block in page.blocks.iter().filter(|b| SHELLS.contains(&b.lang())) {
            for (n, line) in command_lines(block) {
                let (code, comment) = strip_comment(&line);
                if comment == "not checked" {
                    continue;
                }
                for args in invocations(code) {
                    checked += 1;
                    let at = format!("{}:{n}: `{}`", shown(&path), args.trim());
                    let args = quoted.replace_all(&args, "Q");
                    let words: Vec<&str> = args.split_whitespace().collect();
                    // The command path: the subcommand, and a nested one where it has them.
                    let mut command: Vec<String> = Vec::new();
                    let mut valid = true;
                    for word in &words {
                        let help = helps
                            .entry(command.clone())
                            .or_insert_with(|| help_of(&command));
                        if help.subcommands.is_empty() {
                            break;
                        }
                        if help.subcommands.iter().any(|s| s == word) {
                            command.push(word.to_string());
                        } else {
                            let parent: Vec<&str> = std::iter::once("finapi-conformance")
                                .chain(command.iter().map(String::as_str))
                                .collect();
                            problems.push(format!(
                                "{at}: `{word}` is not a command of `{}` (known: {})",
                                parent.join(" "),
                                help.subcommands.join(", ")
                            ));
                            valid = false;
                            break;
                        }
                    }
                    if !valid || command.is_empty() {
                        continue;
                    }
                    let help = helps
                        .entry(command.clone())
                        .or_insert_with(|| help_of(&command));
                    for cap in flag.captures_iter(&args) {
                        let name = &cap[1];
                        if !help.flags.contains(name) {
                            problems.push(format!(
                                "{at}: `finapi-conformance {} --help` has no `{name}`",
                                command.join(" ")
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} command lines found in shell blocks: is the parser still right?"
    );
    assert!(
        problems.is_empty(),
        "commands that do not match the binary:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The README stays a front door, with its two commands.

#[test]
fn the_readme_is_short_and_has_the_two_commands() {
    let path = root().join("README.md");
    let lines = read(&path).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines (at most {README_MAX_LINES}): move the detail into docs/"
    );
    let page = parse(&path);
    let commands: Vec<String> = page
        .blocks
        .iter()
        .filter(|b| SHELLS.contains(&b.lang()))
        .flat_map(command_lines)
        .map(|(_, l)| strip_comment(&l).0.trim().to_string())
        .collect();
    for wanted in ["cargo run --release -- check", "cargo test"] {
        assert!(
            commands.iter().any(|c| c == wanted),
            "README.md lacks `{wanted}` on a line of its own in a shell block"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Code blocks say their language, and Rust examples are compiled.

#[test]
fn every_code_block_has_a_language() {
    let mut problems = Vec::new();
    for path in pages() {
        for block in parse(&path).blocks {
            if block.lang().is_empty() {
                problems.push(format!(
                    "{}:{}: a code block without a language (rustdoc would compile it as Rust; use `text` for output)",
                    shown(&path),
                    block.line
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every file `include_str!` pulls into the library's sources.
fn included_by_sources() -> HashSet<PathBuf> {
    let relative = Regex::new(r#"include_str!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let manifest =
        Regex::new(r#"include_str!\(\s*concat!\(\s*env!\(\s*"CARGO_MANIFEST_DIR"\s*\)\s*,\s*"/?([^"]+)"\s*\)\s*\)"#)
            .unwrap();
    let mut found = HashSet::new();
    let mut folders = vec![root().join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .expect("src/ is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = read(&path);
            let dir = path.parent().expect("a file has a folder");
            let both = relative
                .captures_iter(&text)
                .map(|c| dir.join(&c[1]))
                .chain(manifest.captures_iter(&text).map(|c| root().join(&c[1])));
            found.extend(both.filter_map(|p| p.canonicalize().ok()));
        }
    }
    found
}

#[test]
fn every_page_with_rust_examples_is_compiled_as_doctests() {
    let included = included_by_sources();
    let mut problems = Vec::new();
    for path in pages() {
        let has_rust = parse(&path).blocks.iter().any(|b| b.lang() == "rust");
        if has_rust && !included.contains(&path.canonicalize().expect("the page exists")) {
            problems.push(format!(
                "{} has ```rust blocks but no `#[cfg(doctest)] #[doc = include_str!(..)]` in src/ compiles them",
                shown(&path)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 5. The index lists every page.

#[test]
fn the_docs_index_lists_every_page() {
    let index = read(&root().join("docs/README.md"));
    let missing: Vec<String> = pages()
        .iter()
        .filter(|p| p.parent() == Some(root().join("docs").as_path()))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .filter(|name| name != "README.md" && !index.contains(&format!("]({name}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/README.md does not link to: {}",
        missing.join(", ")
    );
}
