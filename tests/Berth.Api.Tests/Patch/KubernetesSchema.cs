using System.Text.Json.Nodes;
using Berth.Api.Patch;

namespace Berth.Api.Tests.Patch;

/// <summary>A hand-written fragment of the upstream v1.32 OpenAPI v3 components for the kinds kubectl patches.</summary>
internal static class KubernetesSchema
{
    private const string Components = """
    {"schemas":{
      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":{"type":"object","properties":{
        "name":{"type":"string"},
        "labels":{"type":"object","additionalProperties":{"type":"string","default":""}},
        "annotations":{"type":"object","additionalProperties":{"type":"string","default":""}},
        "finalizers":{"type":"array","items":{"type":"string","default":""},"x-kubernetes-patch-strategy":"merge","x-kubernetes-list-type":"set"},
        "ownerReferences":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"}],"default":{}},
          "x-kubernetes-patch-merge-key":"uid","x-kubernetes-patch-strategy":"merge"}
      }},
      "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference":{"type":"object","properties":{"uid":{"type":"string"},"name":{"type":"string"}}},
      "io.k8s.api.core.v1.Service":{"type":"object","properties":{
        "metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
        "spec":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.ServiceSpec"}],"default":{}}
      }},
      "io.k8s.api.core.v1.ServiceSpec":{"type":"object","properties":{
        "ports":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.ServicePort"}],"default":{}},
          "x-kubernetes-list-map-keys":["port","protocol"],"x-kubernetes-list-type":"map",
          "x-kubernetes-patch-merge-key":"port","x-kubernetes-patch-strategy":"merge"},
        "selector":{"type":"object","additionalProperties":{"type":"string","default":""},"x-kubernetes-map-type":"atomic"},
        "clusterIPs":{"type":"array","items":{"type":"string","default":""},"x-kubernetes-list-type":"atomic"}
      }},
      "io.k8s.api.core.v1.ServicePort":{"type":"object","properties":{"port":{"type":"integer"},"targetPort":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}}},
      "io.k8s.apimachinery.pkg.util.intstr.IntOrString":{"type":"string","format":"int-or-string"},
      "io.k8s.api.apps.v1.Deployment":{"type":"object","properties":{
        "metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
        "spec":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],"default":{}}
      }},
      "io.k8s.api.apps.v1.DeploymentSpec":{"type":"object","properties":{
        "replicas":{"type":"integer"},
        "strategy":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"}],"default":{},
          "x-kubernetes-patch-strategy":"retainKeys"},
        "template":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}],"default":{}}
      }},
      "io.k8s.api.apps.v1.DeploymentStrategy":{"type":"object","properties":{"type":{"type":"string"},"rollingUpdate":{"type":"object"}}},
      "io.k8s.api.core.v1.PodTemplateSpec":{"type":"object","properties":{
        "metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
        "spec":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.PodSpec"}],"default":{}}
      }},
      "io.k8s.api.core.v1.Pod":{"type":"object","properties":{
        "metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},
        "spec":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.PodSpec"}],"default":{}}
      }},
      "io.k8s.api.core.v1.PodSpec":{"type":"object","properties":{
        "containers":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.Container"}],"default":{}},
          "x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map",
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "volumes":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.Volume"}],"default":{}},
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge,retainKeys"}
      }},
      "io.k8s.api.core.v1.Volume":{"type":"object","properties":{"name":{"type":"string"},"emptyDir":{"type":"object"},"configMap":{"type":"object"}}},
      "io.k8s.api.core.v1.Container":{"type":"object","properties":{
        "name":{"type":"string"},
        "image":{"type":"string"},
        "args":{"type":"array","items":{"type":"string","default":""},"x-kubernetes-list-type":"atomic"},
        "env":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.EnvVar"}],"default":{}},
          "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"},
        "ports":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.ContainerPort"}],"default":{}},
          "x-kubernetes-patch-merge-key":"containerPort","x-kubernetes-patch-strategy":"merge"},
        "volumeMounts":{"type":"array","items":{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.VolumeMount"}],"default":{}},
          "x-kubernetes-patch-merge-key":"mountPath","x-kubernetes-patch-strategy":"merge"}
      }},
      "io.k8s.api.core.v1.EnvVar":{"type":"object","properties":{"name":{"type":"string"},"value":{"type":"string"}}},
      "io.k8s.api.core.v1.ContainerPort":{"type":"object","properties":{"containerPort":{"type":"integer"},"name":{"type":"string"}}},
      "io.k8s.api.core.v1.VolumeMount":{"type":"object","properties":{"mountPath":{"type":"string"},"name":{"type":"string"}}}
    }}
    """;

    private static readonly JsonObject s_components = JsonNode.Parse(Components)!.AsObject();

    public static IPatchSchema For(string definition) => OpenApiPatchSchema.ForDefinition(s_components, definition);
}
