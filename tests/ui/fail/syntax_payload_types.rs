// A Rust type written in the plan instead of `_`.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_payload_types.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
