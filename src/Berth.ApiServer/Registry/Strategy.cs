using System.Text.Json.Nodes;
using Berth.Api.Validation;
using Berth.ApiServer.Resources;

namespace Berth.ApiServer.Registry;

/// <summary>
/// What the API server does to an object on create and update, per kind, following upstream's
/// registry strategies (pkg/registry/*/strategy.go) and rest.BeforeCreate/BeforeUpdate.
/// </summary>
public static class Strategy
{
    private const int TotalAnnotationSizeLimit = 256 * 1024;
    private const string TaintNodeNotReady = "node.kubernetes.io/not-ready";
    private const string TaintNodeUnreachable = "node.kubernetes.io/unreachable";

    public static void PrepareForCreate(ResourceDefinition def, JsonObject obj, DateTimeOffset now)
    {
        var meta = Meta.Of(obj);
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Meta.Timestamp(now);
        meta.Remove("deletionTimestamp");
        meta.Remove("deletionGracePeriodSeconds");
        meta.Remove("managedFields");
        meta.Remove("selfLink");
        if (def.HasGeneration)
        {
            meta["generation"] = 1;
        }
        else
        {
            meta.Remove("generation");
        }

        switch (def.Kind)
        {
            case "Namespace":
                // The "kubernetes" finalizer makes namespace deletion wait until its contents are gone.
                var spec = obj["spec"] as JsonObject ?? [];
                obj["spec"] = spec;
                spec["finalizers"] = new JsonArray("kubernetes");
                // Every namespace carries its own name as a label, so selectors can pick namespaces by name.
                var labels = meta["labels"] as JsonObject ?? [];
                meta["labels"] = labels;
                labels["kubernetes.io/metadata.name"] = Meta.Name(obj);
                obj["status"] = new JsonObject { ["phase"] = "Active" };
                break;
            case "Pod":
                obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass(obj) };
                break;
            case "Service":
                obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
                break;
            case "PersistentVolumeClaim":
                obj["status"] = new JsonObject { ["phase"] = "Pending" };
                break;
            case "Node":
                // Nodes may set their status on create (the kubelet registers with it).
                break;
            default:
                if (def.HasStatus)
                {
                    obj["status"] = new JsonObject();
                }
                break;
        }
    }

    /// <summary>
    /// Carries over what an update may not change. For the main resource the status is kept; for the status
    /// subresource everything but the status is kept (upstream's PrepareForUpdate / status strategies).
    /// </summary>
    public static JsonObject PrepareForUpdate(ResourceDefinition def, JsonObject updated, JsonObject old, string? subresource)
    {
        JsonObject result;
        if (subresource == "status")
        {
            result = (JsonObject)old.DeepClone();
            result["status"] = updated["status"]?.DeepClone();
            if (result["status"] is null)
            {
                result.Remove("status");
            }
            if (def.Kind is "Deployment" or "ReplicaSet")
            {
                // Upstream's apps status strategies keep only the spec (and a Deployment's labels): the deployment
                // controller writes the Deployment's revision annotation together with its status.
                CopyMetadataField(updated, result, "annotations");
                if (def.Kind == "ReplicaSet")
                {
                    CopyMetadataField(updated, result, "labels");
                }
            }
            Meta.Of(result)["resourceVersion"] = Meta.String(updated, "resourceVersion");
            return result;
        }
        result = updated;
        var meta = Meta.Of(result);
        var oldMeta = Meta.Of(old);
        foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation" })
        {
            if (oldMeta[field] is { } value)
            {
                meta[field] = value.DeepClone();
            }
            else
            {
                meta.Remove(field);
            }
        }
        meta.Remove("managedFields");
        if (subresource == "finalize")
        {
            // Only spec.finalizers may change through namespaces/finalize.
            var finalizers = (result["spec"] as JsonObject)?["finalizers"]?.DeepClone();
            var kept = (JsonObject)old.DeepClone();
            var spec = kept["spec"] as JsonObject ?? [];
            kept["spec"] = spec;
            spec["finalizers"] = finalizers;
            Meta.Of(kept)["resourceVersion"] = Meta.String(updated, "resourceVersion");
            return kept;
        }
        if (def.HasStatus)
        {
            result["status"] = old["status"]?.DeepClone();
            if (result["status"] is null)
            {
                result.Remove("status");
            }
        }
        if (def.Kind == "Namespace")
        {
            var spec = result["spec"] as JsonObject ?? [];
            result["spec"] = spec;
            spec["finalizers"] = (old["spec"] as JsonObject)?["finalizers"]?.DeepClone();
        }
        if (def.HasGeneration && GenerationChanges(def, result, old))
        {
            var generation = oldMeta["generation"]?.GetValue<long>() ?? 0;
            meta["generation"] = generation + 1;
        }
        return result;
    }

    /// <summary>
    /// apiequality.Semantic.DeepEqual over JSON: an absent or null value equals an empty list or map, as Go's nil and
    /// empty slices and maps compare equal, so resending <c>endpoints: []</c> for an absent list changes nothing.
    /// (Go would tell a nil pointer from a pointer to an empty struct; the only such fields here, an endpoint's
    /// <c>hints: {}</c> and <c>targetRef: {}</c>, say nothing more than their absence.)
    /// </summary>
    internal static bool SemanticEquals(JsonNode? a, JsonNode? b)
    {
        if (IsEmpty(a) && IsEmpty(b))
        {
            return true;
        }
        return (a, b) switch
        {
            (JsonObject x, JsonObject y) => x.Select(p => p.Key).Union(y.Select(p => p.Key)).All(k => SemanticEquals(x[k], y[k])),
            (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SemanticEquals(p.First, p.Second)),
            _ => JsonNode.DeepEquals(a, b),
        };

        static bool IsEmpty(JsonNode? node) => node is null or JsonArray { Count: 0 } or JsonObject { Count: 0 };
    }

    /// <summary>
    /// The mutating admission Berth runs on writes of an object itself (not its subresources), after the body is
    /// decoded and before the strategy: today only DefaultTolerationSeconds, for pods.
    /// </summary>
    public static void Admit(ResourceDefinition def, JsonObject obj, string? subresource, ApiServerOptions options)
    {
        if (def.Kind == "Pod" && subresource is null)
        {
            AddDefaultTolerations(obj, options.DefaultNotReadyTolerationSeconds, options.DefaultUnreachableTolerationSeconds);
        }
    }

    /// <summary>
    /// Upstream's DefaultTolerationSeconds admission plugin (plugin/pkg/admission/defaulttolerationseconds), on
    /// create and update: a pod without a toleration for node.kubernetes.io/not-ready (resp. unreachable) with
    /// effect NoExecute gets one with operator Exists for the given seconds, so the taint eviction controller
    /// removes it that long after its node went away. A toleration with an empty key or an empty effect counts.
    /// </summary>
    public static void AddDefaultTolerations(JsonObject pod, long notReadySeconds, long unreachableSeconds)
    {
        var spec = pod["spec"] as JsonObject;
        var tolerations = spec?["tolerations"] as JsonArray;
        var notReady = false;
        var unreachable = false;
        foreach (var toleration in tolerations?.OfType<JsonObject>() ?? [])
        {
            var key = StringOrEmpty(toleration["key"]);
            var effect = StringOrEmpty(toleration["effect"]);
            var noExecute = effect is "NoExecute" or "";
            notReady |= key is TaintNodeNotReady or "" && noExecute;
            unreachable |= key is TaintNodeUnreachable or "" && noExecute;
        }
        if (notReady && unreachable)
        {
            return;
        }
        if (spec is null)
        {
            spec = [];
            pod["spec"] = spec;
        }
        if (tolerations is null)
        {
            tolerations = [];
            spec["tolerations"] = tolerations;
        }
        if (!notReady)
        {
            tolerations.Add(Toleration(TaintNodeNotReady, notReadySeconds));
        }
        if (!unreachable)
        {
            tolerations.Add(Toleration(TaintNodeUnreachable, unreachableSeconds));
        }

        static string StringOrEmpty(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";

        static JsonObject Toleration(string key, long seconds) => new()
        {
            ["key"] = key,
            ["operator"] = "Exists",
            ["effect"] = "NoExecute",
            ["tolerationSeconds"] = seconds,
        };
    }

    /// <summary>Object metadata checks every kind shares (ValidateObjectMeta), with the kind's name rule.</summary>
    public static List<FieldError> ValidateMetadata(ResourceDefinition def, JsonObject obj)
    {
        var errors = new List<FieldError>();
        var meta = Meta.Of(obj);
        var name = Meta.Name(obj);
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required"));
        }
        else
        {
            foreach (var message in NameRule(def)(name))
            {
                errors.Add(FieldError.Invalid("metadata.name", name, message));
            }
        }
        if (def.Namespaced && Meta.Namespace(obj) is { } ns)
        {
            foreach (var message in NameValidation.IsDns1123Label(ns))
            {
                errors.Add(FieldError.Invalid("metadata.namespace", ns, message));
            }
        }
        if (Meta.StringMap(meta["labels"]) is { } labels)
        {
            foreach (var (key, value) in labels)
            {
                foreach (var message in LabelValidation.IsQualifiedName(key))
                {
                    errors.Add(FieldError.Invalid("metadata.labels", key, message));
                }
                foreach (var message in LabelValidation.IsValidLabelValue(value))
                {
                    errors.Add(FieldError.Invalid("metadata.labels", value, message));
                }
            }
        }
        if (Meta.StringMap(meta["annotations"]) is { } annotations)
        {
            var total = 0;
            foreach (var (key, value) in annotations)
            {
                total += key.Length + value.Length;
                foreach (var message in LabelValidation.IsQualifiedName(key.ToLowerInvariant()))
                {
                    errors.Add(FieldError.Invalid("metadata.annotations", key, message));
                }
            }
            if (total > TotalAnnotationSizeLimit)
            {
                errors.Add(FieldError.TooLong("metadata.annotations", TotalAnnotationSizeLimit));
            }
        }
        if (meta["ownerReferences"] is JsonArray || meta["finalizers"] is JsonArray)
        {
            // The object was normalized through its model type, so its metadata reads back as ObjectMeta.
            var typed = Berth.Api.Serialization.KubeJson.Deserialize<Berth.Api.Models.ObjectMeta>(meta);
            errors.AddRange(ObjectMetaValidation.ValidateOwnerReferences(typed.OwnerReferences ?? [], "metadata.ownerReferences"));
            errors.AddRange(ObjectMetaValidation.ValidateFinalizers(typed.Finalizers ?? [], "metadata.finalizers"));
        }
        return errors;
    }

    /// <summary>Immutable metadata on update (ValidateObjectMetaUpdate).</summary>
    public static List<FieldError> ValidateMetadataUpdate(JsonObject updated, JsonObject old)
    {
        var errors = new List<FieldError>();
        if (Meta.IsDeleting(old))
        {
            var before = Finalizers(old);
            var added = Finalizers(updated).Where(f => !before.Contains(f)).ToList();
            if (added.Count > 0)
            {
                errors.Add(FieldError.Forbidden("metadata.finalizers",
                    $"no new finalizers can be added if the object is being deleted, found new finalizers []string{{{string.Join(", ", added.Select(FieldError.Quote))}}}"));
            }
        }
        foreach (var field in new[] { "name", "namespace" })
        {
            var now = Meta.String(updated, field);
            if (now != Meta.String(old, field))
            {
                errors.Add(FieldError.Invalid($"metadata.{field}", now ?? "", "field is immutable"));
            }
        }
        // An update without a uid keeps the current one (upstream BeforeUpdate); a different one is refused, which
        // makes a uid in a patch a precondition (the garbage collector's owner-reference patches rely on it).
        if (Meta.String(updated, "uid") is { Length: > 0 } uid && uid != Meta.String(old, "uid"))
        {
            errors.Add(FieldError.Invalid("metadata.uid", uid, "field is immutable"));
        }
        return errors;
    }

    // What bumps metadata.generation on update. Kinds with a spec: a spec change. An EndpointSlice has no spec, so
    // upstream's endpointslice strategy bumps it on any change outside metadata, and on a change of labels: those
    // (kubernetes.io/service-name, managed-by) decide which Service and controller the slice belongs to.
    private static bool GenerationChanges(ResourceDefinition def, JsonObject updated, JsonObject old) => def.Kind switch
    {
        "EndpointSlice" => !updated.Select(p => p.Key).Union(old.Select(p => p.Key))
                .All(k => k == "metadata" || SemanticEquals(updated[k], old[k])) ||
            !SemanticEquals(Meta.Of(updated)["labels"], Meta.Of(old)["labels"]),
        _ => !JsonNode.DeepEquals(updated["spec"], old["spec"]),
    };

    private static List<string> Finalizers(JsonObject obj) =>
        ((obj["metadata"] as JsonObject)?["finalizers"] as JsonArray)?
            .Select(f => f is JsonValue v && v.TryGetValue<string>(out var s) ? s : "").ToList() ?? [];

    private static Func<string, List<string>> NameRule(ResourceDefinition def) => def.Kind switch
    {
        // Service names become DNS labels and env var prefixes (ValidateServiceName = DNS-1035).
        "Service" => NameValidation.IsDns1035Label,
        "Namespace" => NameValidation.IsDns1123Label,
        "Event" => NameValidation.IsValidPathSegmentName,
        _ => NameValidation.IsDns1123Subdomain,
    };

    // Upstream pkg/apis/core/helper/qos: Guaranteed when every container limits cpu and memory and requests
    // equal limits; BestEffort when nothing is requested or limited; Burstable otherwise.
    private static string QosClass(JsonObject pod)
    {
        var containers = ((pod["spec"] as JsonObject)?["containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        var any = false;
        var guaranteed = containers.Count > 0;
        foreach (var c in containers)
        {
            var resources = c["resources"] as JsonObject;
            var limits = Meta.StringMap(resources?["limits"]) ?? [];
            var requests = Meta.StringMap(resources?["requests"]) ?? [];
            if (limits.Count > 0 || requests.Count > 0)
            {
                any = true;
            }
            foreach (var resource in new[] { "cpu", "memory" })
            {
                if (!limits.TryGetValue(resource, out var limit) ||
                    (requests.TryGetValue(resource, out var request) && request != limit))
                {
                    guaranteed = false;
                }
            }
        }
        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    private static void CopyMetadataField(JsonObject from, JsonObject to, string field)
    {
        if (Meta.Of(from)[field] is { } value)
        {
            Meta.Of(to)[field] = value.DeepClone();
        }
        else
        {
            Meta.Of(to).Remove(field);
        }
    }
}
