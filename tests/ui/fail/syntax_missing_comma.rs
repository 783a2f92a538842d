// Two transitions without a comma between them.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_missing_comma.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
