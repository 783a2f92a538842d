// A plan file that does not exist.
mod flow {
    plan_macros::plan! {
        file: "../plans/no_such.plan",
    }
}

fn main() {}
