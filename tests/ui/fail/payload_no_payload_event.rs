// Payload types for an event that carries none, and a type list given twice.
mod flow {
    pub struct Sector;

    plan_macros::plan! {
        file: "../plans/base.plan",
        payloads: {
            Allocate(Sector),
            Seal(u64, u64),
            Finish(u64),
            Allocate(Sector),
        },
    }
}

fn main() {}
