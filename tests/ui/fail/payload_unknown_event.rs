// Payload types for an event the plan does not have.
mod flow {
    pub struct Sector;

    plan_macros::plan! {
        file: "../plans/base.plan",
        payloads: {
            Allocate(Sector),
            Seal(u64, u64),
            Sael(u64),
        },
    }
}

fn main() {}
