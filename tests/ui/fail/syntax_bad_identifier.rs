// Names that are not UpperCamelCase.
mod flow {
    plan_macros::plan! {
        file: "../plans/syntax_bad_identifier.plan",
        payloads: { Allocate(u32), Seal(u32, u32) },
    }
}

fn main() {}
