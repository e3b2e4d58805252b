using System.Globalization;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// The small printers of pkg/printers/internalversion/printers.go: printNamespace, printConfigMap,
/// printSecret, printPersistentVolumeClaim and printLease, plus the apiserver's default table
/// (k8s.io/apiserver/pkg/registry/rest/table.go) for resources without a printer.
internal static class CorePrinters
{
    // core.BetaStorageClassAnnotation, still honoured first by helper.GetPersistentVolumeClaimClass.
    private const string BetaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class";

    public static JsonArray Namespace(JsonObject ns, DateTimeOffset now) =>
    [
        Name(ns),
        JsonRead.Str(JsonRead.Obj(ns, "status"), "phase"),
        Age(ns, now),
    ];

    public static JsonArray ConfigMap(JsonObject configMap, DateTimeOffset now) =>
    [
        Name(configMap),
        (long)(JsonRead.Count(configMap, "data") + JsonRead.Count(configMap, "binaryData")),
        Age(configMap, now),
    ];

    public static JsonArray Secret(JsonObject secret, DateTimeOffset now) =>
    [
        Name(secret),
        JsonRead.Str(secret, "type"),
        (long)JsonRead.Count(secret, "data"),
        Age(secret, now),
    ];

    public static JsonArray PersistentVolumeClaim(JsonObject claim, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(claim, "metadata");
        var spec = JsonRead.Obj(claim, "spec");
        var status = JsonRead.Obj(claim, "status");

        var phase = JsonRead.Has(metadata, "deletionTimestamp") ? "Terminating" : JsonRead.Str(status, "phase");
        var volumeName = JsonRead.Str(spec, "volumeName");
        var capacity = "";
        var accessModes = "";
        if (volumeName.Length > 0)
        {
            accessModes = AccessModes(JsonRead.Arr(status, "accessModes"));
            // A missing quantity is the zero Quantity, which prints "0".
            capacity = JsonRead.StrOrNull(JsonRead.Obj(status, "capacity"), "storage") ?? "0";
        }

        var storageClass = JsonRead.StrOrNull(JsonRead.Obj(metadata, "annotations"), BetaStorageClassAnnotation)
            ?? JsonRead.Str(spec, "storageClassName");

        return
        [
            JsonRead.Str(metadata, "name"),
            phase,
            volumeName,
            capacity,
            accessModes,
            storageClass,
            JsonRead.StrOrNull(spec, "volumeAttributesClassName") ?? "<unset>",
            Age(claim, now),
            JsonRead.StrOrNull(spec, "volumeMode") ?? "<unset>",
        ];
    }

    public static JsonArray Lease(JsonObject lease, DateTimeOffset now) =>
    [
        Name(lease),
        JsonRead.Str(JsonRead.Obj(lease, "spec"), "holderIdentity"),
        Age(lease, now),
    ];

    /// defaultTableConvertor: name and creationTimestamp as UTC RFC 3339 (Go's zero time when unset).
    public static JsonArray Default(JsonObject obj, DateTimeOffset now)
    {
        var created = JsonRead.Time(JsonRead.Obj(obj, "metadata"), "creationTimestamp") ?? DateTimeOffset.MinValue;
        return
        [
            Name(obj),
            created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ];
    }

    /// helper.GetAccessModesAsString: de-duplicated, in the fixed order RWO, ROX, RWX, RWOP.
    internal static string AccessModes(JsonArray? modes)
    {
        var present = JsonRead.Strings(modes).ToHashSet(StringComparer.Ordinal);
        var parts = new List<string>(4);
        if (present.Contains("ReadWriteOnce"))
        {
            parts.Add("RWO");
        }

        if (present.Contains("ReadOnlyMany"))
        {
            parts.Add("ROX");
        }

        if (present.Contains("ReadWriteMany"))
        {
            parts.Add("RWX");
        }

        if (present.Contains("ReadWriteOncePod"))
        {
            parts.Add("RWOP");
        }

        return string.Join(",", parts);
    }

    private static string Name(JsonObject obj) => JsonRead.Str(JsonRead.Obj(obj, "metadata"), "name");

    private static string Age(JsonObject obj, DateTimeOffset now) =>
        HumanDuration.Since(JsonRead.Time(JsonRead.Obj(obj, "metadata"), "creationTimestamp"), now);
}
