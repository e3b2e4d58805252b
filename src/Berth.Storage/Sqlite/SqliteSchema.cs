namespace Berth.Storage.Sqlite;

/// <summary>The on-disk layout. <c>kv</c> holds current values, <c>log</c> one row per revision (the watch
/// history, trimmed by compaction), <c>meta</c> the store revision and compacted revision.</summary>
internal static class SqliteSchema
{
    public const int Version = 1;

    public const int KindPut = 0;
    public const int KindDelete = 1;

    // The initial revision is 1, as in etcd: the first write gets revision 2.
    public const string Create = """
        CREATE TABLE IF NOT EXISTS kv (
            key TEXT NOT NULL PRIMARY KEY,
            value BLOB NOT NULL,
            create_rev INTEGER NOT NULL,
            mod_rev INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS log (
            rev INTEGER NOT NULL PRIMARY KEY,
            key TEXT NOT NULL,
            kind INTEGER NOT NULL,
            create_rev INTEGER NOT NULL,
            value BLOB,
            prev_value BLOB);
        CREATE TABLE IF NOT EXISTS meta (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            schema_version INTEGER NOT NULL,
            current_rev INTEGER NOT NULL,
            compacted_rev INTEGER NOT NULL);
        INSERT OR IGNORE INTO meta (id, schema_version, current_rev, compacted_rev) VALUES (1, 1, 1, 0);
        """;

    public const string SelectMeta = "SELECT schema_version, current_rev, compacted_rev FROM meta WHERE id = 1";
}
