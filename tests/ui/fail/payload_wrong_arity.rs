// Payload types that do not match the number of `_` in the plan.
mod flow {
    pub struct Sector;

    plan_macros::plan! {
        file: "../plans/base.plan",
        payloads: {
            Allocate(Sector, u64),
            Seal(u64),
        },
    }
}

fn main() {}
