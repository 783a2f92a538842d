// A state whose handler name is a Rust keyword (`Type` -> `r#type`).
mod flow {
    plan_macros::plan! {
        file: "../plans/odd_keyword_state.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

use flow::outcome;

struct Worker;

impl flow::Handlers for Worker {
    type Error = ();

    async fn empty(&mut self) -> Result<outcome::Empty, ()> {
        Ok(outcome::Empty::Allocate(1))
    }

    async fn allocated(&mut self) -> Result<outcome::Allocated, ()> {
        Ok(outcome::Allocated::Seal(1, 2))
    }

    async fn r#type(&mut self) -> Result<outcome::Type, ()> {
        Ok(outcome::Type::Finish)
    }
}

fn main() {
    let _ = flow::dispatch(&mut Worker, flow::State::Type);
    assert_eq!(flow::State::Type.to_string(), "Type");
}
