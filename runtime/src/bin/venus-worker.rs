use clap::Parser;

#[derive(Parser)]
enum Cli {
    Params {
        #[arg(long, hide = true)]
        generate_one: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Params { generate_one: Some(c) } => venus_runtime::params::generate_one(&c),
        Cli::Params { generate_one: None } => {
            let exe = std::env::current_exe()?;
            venus_runtime::params::ensure(&exe, &mut std::io::stderr())
        }
    }
}
