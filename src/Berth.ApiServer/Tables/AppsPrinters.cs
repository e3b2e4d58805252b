using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Berth.ApiServer.Tables;

/// printDeployment and printReplicaSet from pkg/printers/internalversion/printers.go.
internal static class AppsPrinters
{
    public static JsonArray Deployment(JsonObject deployment, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(deployment, "metadata");
        var spec = JsonRead.Obj(deployment, "spec");
        var status = JsonRead.Obj(deployment, "status");
        var (names, images) = ContainerCells(spec);

        // printDeployment uses LabelSelectorAsSelector(...).String(): "" (not "<none>") for an empty
        // selector and "<invalid>" when it cannot be converted.
        var selector = LabelFormat.TrySelectorString(JsonRead.Obj(spec, "selector"), out var s) ? s : "<invalid>";

        return
        [
            JsonRead.Str(metadata, "name"),
            JsonRead.Int(status, "readyReplicas").ToString(CultureInfo.InvariantCulture) + "/"
                + DesiredReplicas(spec).ToString(CultureInfo.InvariantCulture),
            JsonRead.Int(status, "updatedReplicas"),
            JsonRead.Int(status, "availableReplicas"),
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
            names,
            images,
            selector,
        ];
    }

    public static JsonArray ReplicaSet(JsonObject replicaSet, DateTimeOffset now)
    {
        var metadata = JsonRead.Obj(replicaSet, "metadata");
        var spec = JsonRead.Obj(replicaSet, "spec");
        var status = JsonRead.Obj(replicaSet, "status");
        var (names, images) = ContainerCells(spec);

        return
        [
            JsonRead.Str(metadata, "name"),
            DesiredReplicas(spec),
            JsonRead.Int(status, "replicas"),
            JsonRead.Int(status, "readyReplicas"),
            HumanDuration.Since(JsonRead.Time(metadata, "creationTimestamp"), now),
            names,
            images,
            LabelFormat.FormatLabelSelector(JsonRead.Obj(spec, "selector")),
        ];
    }

    // spec.replicas is defaulted to 1 for apps/v1 objects before they are stored.
    private static long DesiredReplicas(JsonObject? spec) => JsonRead.IntOrNull(spec, "replicas") ?? 1;

    /// layoutContainerCells: container names and images of the pod template, comma-joined.
    private static (string Names, string Images) ContainerCells(JsonObject? spec)
    {
        var containers = JsonRead.Arr(JsonRead.Obj(JsonRead.Obj(spec, "template"), "spec"), "containers");
        var names = new StringBuilder();
        var images = new StringBuilder();
        bool first = true;
        foreach (var container in JsonRead.Objects(containers))
        {
            if (!first)
            {
                names.Append(',');
                images.Append(',');
            }

            first = false;
            names.Append(JsonRead.Str(container, "name"));
            images.Append(JsonRead.Str(container, "image"));
        }

        return (names.ToString(), images.ToString());
    }
}
