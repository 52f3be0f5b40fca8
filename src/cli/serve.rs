//! `serve`: the mock finAPI standalone, until Ctrl-C or SIGTERM, with a banner naming its
//! address, its world's clients and users, and what is broken on purpose.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use finapi_conformance::serve::{Control, ServeOptions, Server};
use finapi_conformance::sim::{Profile, SimConfig, Simulator};
use finapi_conformance::world::World;
use finapi_conformance::Violation;

use super::args::ReadingArgs;
use super::config::faults;
use super::failure::Failure;
use super::process;

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
    #[command(flatten)]
    pub readings: ReadingArgs,

    /// How many recent requests the journal keeps (operation, caller, status, rule; never a
    /// secret); 0 = none. Read it at GET /__finapi/journal.
    #[arg(long, default_value_t = 1000)]
    pub journal: usize,

    /// Answer like a busy real deployment: `staging`, or knobs separated by commas
    /// (validate-first, rate-limit, flaky, latency, long-tokens, alt-errors, seed=N).
    #[arg(long, value_name = "KNOB[,KNOB]")]
    pub profile: Option<String>,
    /// Switch off the control API under /__finapi/ (journal, reset, world, faults, clock).
    #[arg(long)]
    pub no_control: bool,
    /// Token the control API requires (Authorization: Bearer or X-Finapi-Control-Token);
    /// needed when listening beyond loopback.
    #[arg(long, env = "FINAPI_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
}

/// Run the command; returns the exit code (0 once stopped).
pub async fn run(args: ServeArgs) -> Result<i32, Failure> {
    if args.list_violations {
        for v in Violation::ALL {
            println!("{:<42} {:<28} {}", v.name(), v.rule().id(), v.description());
        }
        return Ok(0);
    }
    let faults = faults(&args.violations)?;
    let readings = args.readings.readings()?;
    let world = match &args.world {
        Some(path) => World::from_file(path).map_err(|e| Failure::usage(e.to_string()))?,
        None => World::demo(),
    };
    let profile = args
        .profile
        .as_deref()
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(Failure::usage)?;
    let sim = Simulator::with_config(
        &world,
        SimConfig {
            faults: faults.clone(),
            readings,
            profile: profile.clone(),
            ..SimConfig::default()
        },
    );
    let control = match (args.no_control, args.control_token.clone()) {
        (true, _) => Control::Off,
        (false, Some(token)) if !token.trim().is_empty() => Control::Token(token),
        (false, Some(_)) => return Err(Failure::usage("--control-token must not be empty")),
        (false, None) if !args.addr.ip().is_loopback() => {
            return Err(Failure::usage(format!(
                "listening on {} (not loopback): the control API needs a token: set FINAPI_CONTROL_TOKEN (or --control-token), or pass --no-control",
                args.addr
            )))
        }
        (false, None) => Control::Open,
    };
    let control_on = control != Control::Off;
    let options = ServeOptions {
        journal_capacity: args.journal,
        control,
    };
    let server = Server::start_with(sim, args.addr, options)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.addr)))?;
    let stop = process::stop_signal().await;
    let mut banner = format!("finAPI mock listening on {}\n", server.uri());
    banner += &world_banner(&world, args.world.is_none());
    for v in faults.iter() {
        banner += &format!("  BROKEN ON PURPOSE: {} ({})\n", v.name(), v.description());
    }
    if let Some(p) = profile.filter(|p| !p.is_faithful()) {
        banner += &format!("  profile: {p} (not the faithful mock)\n");
    }
    if control_on {
        banner += &format!(
            "Control API: {}/__finapi/ (health, journal, reset, world, faults, clock)\n",
            server.uri()
        );
    }
    banner += "Press Ctrl-C to stop.\n";
    process::write_stdout(&banner);
    stop.await;
    eprintln!("stopping...");
    server.shutdown().await.map_err(|e| Failure {
        message: format!("shutdown failed: {e}"),
        code: 1,
    })?;
    Ok(0)
}

/// The world's clients and users, for the start banner. Secrets are printed only for the built-in demo world,
/// whose secrets are public; a world file's secrets stay unprinted.
fn world_banner(world: &World, is_demo: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for m in &world.mandators {
        let _ = writeln!(out, "mandator {} (API {})", m.id, m.api_version.label());
        for c in &m.app_clients {
            let secret = if is_demo {
                c.secret.as_str()
            } else {
                "<from your world file>"
            };
            let _ = writeln!(out, "  app client    {:<16} secret {}", c.id, secret);
        }
        let secret = if is_demo {
            m.admin_client.secret.as_str()
        } else {
            "<from your world file>"
        };
        let _ = writeln!(
            out,
            "  admin client  {:<16} secret {}",
            m.admin_client.id, secret
        );
        for u in &m.users {
            let pw = if is_demo {
                u.password.as_str()
            } else {
                "<from your world file>"
            };
            let _ = writeln!(
                out,
                "  user          {:<16} password {}{}",
                u.id,
                pw,
                if u.verified { "" } else { " (unverified)" }
            );
        }
    }
    out
}
