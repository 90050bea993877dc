/// The toolkit's release, which every tool prints for `--version` (one number for all five: they ship together).
public enum ToolVersion {
    public static let current = "0.9.0"
}
