// A block header and a transition without `=>`.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_missing_fat_arrow.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
