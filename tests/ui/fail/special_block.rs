// A block for the terminal state Finished.
mod flow {
    plan_macros::plan! {
        file: "../plans/special_block.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
