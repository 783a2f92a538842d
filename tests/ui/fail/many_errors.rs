// Every error of the file is reported, not only the first.
mod flow {
    plan_macros::plan! {
        file: "../plans/many_errors.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
