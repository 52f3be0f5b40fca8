//! The command line: `serve` (and, with the runner, `check`, `matrix`, `diff`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::faults::{Faults, Violation};
use crate::serve::Server;
use crate::sim::{SimConfig, Simulator};
use crate::world::World;

#[derive(Debug, Parser)]
#[command(
    name = "finapi-conformance",
    version,
    about = "Role-boundary conformance for the finAPI API: a mock and a checker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the mock finAPI standalone (for clients in any language, and long runs).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// World file (TOML) with mandators, clients and users; default: the demo world.
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// Switch on a deliberate boundary break (repeatable); see --list-violations.
    #[arg(long = "violate", value_name = "RULE")]
    pub violations: Vec<String>,
    /// List the boundary breaks the mock can simulate, and exit.
    #[arg(long)]
    pub list_violations: bool,
    /// How many recent requests the journal keeps (method, path, status only); 0 = none.
    #[arg(long, default_value_t = 1000)]
    pub journal: usize,
}

/// A CLI failure: one line for the user and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

/// Run a parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> Result<i32, Failure> {
    if args.list_violations {
        for v in Violation::ALL {
            println!("{:<42} {:<28} {}", v.name(), v.rule().id(), v.description());
        }
        return Ok(0);
    }
    let faults: Faults = args
        .violations
        .iter()
        .map(|v| v.parse::<Violation>())
        .collect::<Result<_, _>>()
        .map_err(Failure::usage)?;
    let world = match &args.world {
        Some(path) => World::from_file(path).map_err(|e| Failure::usage(e.to_string()))?,
        None => World::demo(),
    };
    let sim = Simulator::with_config(
        &world,
        SimConfig {
            faults: faults.clone(),
            ..SimConfig::default()
        },
    );
    let server = Server::start(sim, args.addr, args.journal)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.addr)))?;
    println!("finAPI mock listening on {}", server.uri());
    print_world(&world, args.world.is_none());
    for v in faults.iter() {
        println!("  BROKEN ON PURPOSE: {} ({})", v.name(), v.description());
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping...");
    server.shutdown().await.map_err(|e| Failure {
        message: format!("shutdown failed: {e}"),
        code: 1,
    })?;
    Ok(0)
}

/// Print the world's clients and users. Secrets are printed only for the built-in demo world,
/// whose secrets are public; a world file's secrets stay unprinted.
fn print_world(world: &World, is_demo: bool) {
    for m in &world.mandators {
        println!("mandator {} (API {})", m.id, m.api_version.label());
        for c in &m.app_clients {
            let secret = if is_demo {
                c.secret.as_str()
            } else {
                "<from your world file>"
            };
            println!("  app client    {:<16} secret {}", c.id, secret);
        }
        let secret = if is_demo {
            m.admin_client.secret.as_str()
        } else {
            "<from your world file>"
        };
        println!(
            "  admin client  {:<16} secret {}",
            m.admin_client.id, secret
        );
        for u in &m.users {
            let pw = if is_demo {
                u.password.as_str()
            } else {
                "<from your world file>"
            };
            println!(
                "  user          {:<16} password {}{}",
                u.id,
                pw,
                if u.verified { "" } else { " (unverified)" }
            );
        }
    }
}
