// A block without its closing `}`.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_unclosed_block.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
