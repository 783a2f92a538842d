// No payload types for an event that carries payloads.
mod flow {
    pub struct Sector;

    plan_macros::plan! {
        file: "../plans/base.plan",
        payloads: {
            Seal(u64, u64),
        },
    }
}

fn main() {}
