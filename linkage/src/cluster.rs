//! Clusters: matched pairs joined into groups, so three records of one person are one review,
//! not three pairs.

/// Groups of two or more of `rows` records connected by `pairs`, each sorted, largest first.
pub fn clusters(rows: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Vec<Vec<u32>> {
    let mut parent: Vec<u32> = (0..rows as u32).collect();
    fn root(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    for (a, b) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    let mut groups: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for x in 0..rows as u32 {
        let r = root(&mut parent, x);
        groups.entry(r).or_default().push(x);
    }
    let mut found: Vec<Vec<u32>> = groups.into_values().filter(|g| g.len() > 1).collect();
    found.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn chains_join() {
        let found = super::clusters(6, [(0, 1), (1, 2), (4, 5)]);
        assert_eq!(found, vec![vec![0, 1, 2], vec![4, 5]]);
    }
}
