pub fn entries() -> Vec<crate::OpInfo> {
    Vec::new()
}
