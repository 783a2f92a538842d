// A handler producing an event its state does not allow (`Finish` is allowed in `Sealed` only).
mod flow {
    pub struct Sector;

    plan_macros::plan! {
        file: "../plans/base.plan",
        payloads: { Allocate(Sector), Seal(u64, u64) },
    }
}

use flow::outcome;

struct Worker;

impl flow::Handlers for Worker {
    type Error = ();

    async fn empty(&mut self) -> Result<outcome::Empty, ()> {
        Ok(outcome::Empty::Allocate(flow::Sector))
    }

    async fn allocated(&mut self) -> Result<outcome::Allocated, ()> {
        Ok(outcome::Allocated::Finish)
    }

    async fn sealed(&mut self) -> Result<outcome::Sealed, ()> {
        Ok(outcome::Sealed::Finish)
    }
}

fn main() {}
