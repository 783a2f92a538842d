// A `;` instead of a comma, and a doubled comma.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_stray_token.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
