//! "Did you mean ...?" for misspelt names.

/// Edit distance counting an insertion, a deletion, a substitution or a swap of two adjacent
/// characters as one edit, so the typical typo `PC2Dnoe` is one edit from `PC2Done`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a plausible typo: a case-only
/// difference, or at most one edit per three characters (at least one).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let folded = edit_distance(&lower, &c.to_lowercase());
            (folded, edit_distance(name, c), c)
        })
        .filter(|&(folded, exact, _)| folded == 0 || exact <= limit)
        .min_by_key(|&(folded, exact, _)| (folded, exact))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("PC2Dnoe", "PC2Done"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let states = ["PC1Done", "PC2Done", "Finished"];
        assert_eq!(closest("PC2Dnoe", states), Some("PC2Done"));
        assert_eq!(closest("finished", states), Some("Finished"));
        assert_eq!(closest("Unrelated", states), None);
        assert_eq!(closest("Stat", ["State"]), Some("State"));
    }
}
