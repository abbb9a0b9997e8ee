"""A model's own config (PaddleX 3 inference.yml, PaddleClas deploy/PULC yamls) read into
Preprocess + Postprocess, and those applied exactly as the references do (fast tier: numpy and
YAML only; the end-to-end comparison with PaddleX/PaddleClas is tests/test_family_references.py).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from lcnet_ov import ModelConfigError, Postprocess, Prediction, Preprocess, read_model_config
from lcnet_ov.inputs.preprocess import preprocess, resize_crop
from lcnet_ov.postprocess import PERSON_ATTRIBUTE_LABELS
from lcnet_ov.runtime.metadata import ModelMetadata

TEXTLINE_YML = """Global:
  model_name: PP-LCNet_x1_0_textline_ori
Hpi:
  backend_configs:
    paddle_infer:
      trt_dynamic_shapes: &id001
        x:
        - [1, 3, 80, 160]
    tensorrt:
      dynamic_shapes: *id001
PreProcess:
  transform_ops:
  - ResizeImage:
      size: [160, 80]
  - NormalizeImage:
      scale: 0.00392156862745098
      mean: [0.485, 0.456, 0.406]
      std: [0.229, 0.224, 0.225]
      order: ''
      channel_num: 3
  - ToCHWImage: null
PostProcess:
  Topk:
    topk: 1
    label_list: [0_degree, 180_degree]
"""

PULC_EXISTS_YAML = """Global:
  use_gpu: True
PreProcess:
  transform_ops:
    - ResizeImage:
        resize_short: 256
    - CropImage:
        size: 224
    - NormalizeImage:
        scale: 1.0/255.0
        mean: [0.485, 0.456, 0.406]
        std: [0.229, 0.224, 0.225]
        order: ''
    - ToCHWImage:
PostProcess:
  main_indicator: ThreshOutput
  ThreshOutput:
    threshold: 0.5
    label_0: nobody
    label_1: someone
  SavePreLabel:
    save_dir: ./pre_label/
"""


def _write(tmp_path, text, name="inference.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_paddlex_textline_yml_with_anchors(tmp_path):
    _write(tmp_path, TEXTLINE_YML)
    cfg = read_model_config(tmp_path)  # the folder: its inference.yml
    assert cfg.flavour == "paddlex" and cfg.name == "PP-LCNet_x1_0_textline_ori"
    pp = cfg.preprocess
    assert pp.resize_size == (160, 80) and pp.crop_size is None and pp.resize_short is None
    assert pp.input_hw == (80, 160) and pp.norm_formula == "paddlex"
    assert cfg.postprocess.kind == "topk" and cfg.postprocess.topk == 1
    assert cfg.labels == ("0_degree", "180_degree")


def test_pulc_yaml_string_scale_and_thresh_output(tmp_path):
    cfg = read_model_config(_write(tmp_path, PULC_EXISTS_YAML, "inference_person_exists.yaml"))
    assert cfg.flavour == "paddleclas" and cfg.name == "person_exists"
    assert cfg.preprocess.scale == pytest.approx(1 / 255) and cfg.preprocess.crop_size == 224
    assert cfg.preprocess.norm_formula == "paddleclas"
    post = cfg.postprocess
    assert (post.kind, post.threshold, post.labels) == ("threshold", 0.5, ("nobody", "someone"))


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("- ToCHWImage: null", "- RandomFlip: null", "RandomFlip"),
        ("  Topk:", "  Argmax:", "Argmax"),
        ("      size: [160, 80]", "      size: [160, 80]\n      backend: pil", "interpolation"),
        ("      order: ''", "      order: chw", "order"),
    ],
)
def test_what_cannot_be_followed_exactly_is_refused_naming_it(tmp_path, old, new, needle):
    path = _write(tmp_path, TEXTLINE_YML.replace(old, new))
    with pytest.raises(ModelConfigError) as err:
        read_model_config(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_multilabel_thresholds_float_list_dict(tmp_path):
    base = TEXTLINE_YML.replace(
        "  Topk:\n    topk: 1\n    label_list: [0_degree, 180_degree]",
        "  MultiLabelThreshOutput:\n    threshold: THR\n    label_list: [a, b, c]",
    )
    for thr, want in [
        ("0.5", 0.5),
        ("[0.1, 0.2, 0.3]", (0.1, 0.2, 0.3)),
        ("{default: 0.5, 2: 0.9, '0': 0.1}", (0.1, 0.5, 0.9)),
    ]:
        cfg = read_model_config(_write(tmp_path, base.replace("THR", thr)))
        assert cfg.postprocess.kind == "multilabel" and cfg.postprocess.threshold == want
    with pytest.raises(ModelConfigError, match="threshold"):
        read_model_config(_write(tmp_path, base.replace("THR", "1")))  # an int: PaddleX fails too


def test_multilabel_is_strictly_above_highest_first():
    post = Postprocess("multilabel", topk=None, threshold=(0.5, 0.5, 0.2), labels=("a", "b", "c"))
    probs = np.array([[0.5, 0.9, 0.3], [0.1, 0.2, 0.2]], np.float32)
    first, second = post.apply(probs, ["x", "y"])
    assert first.class_ids == (1, 2) and first.label_names == ("b", "c")  # 0.5 is not > 0.5
    # float32(0.2) is not above the threshold 0.2 either: numpy compares in float32
    assert second.class_ids == () and second.to_dict()["scores"] == []


def test_thresh_output_as_paddleclas():
    post = Postprocess("threshold", topk=None, threshold=0.5, labels=("nobody", "someone"))
    low, at = post.apply(np.array([[0.8, 0.2], [0.5, 0.5]], np.float32))
    assert low.class_ids == (0,) and low.label_names == ("nobody",)
    assert low.scores[0] == float(np.float32(1) - np.float32(0.2))  # float32 arithmetic
    assert at.class_ids == (1,) and at.label_names == ("someone",)  # at the threshold: class 1


def test_person_attribute_decoded_as_paddleclas():
    r = np.full(26, 0.1, np.float32)
    r[[22, 20, 25, 1, 16, 3, 5, 11]] = 0.9  # female, 18-60, back, glasses, shoulder bag, ...
    r[18] = 0.55  # over 0.5, under hold_threshold 0.6
    (pred,) = Postprocess("person_attribute", topk=None, activation="sigmoid").apply(r)
    assert pred.attributes == {
        "attributes": [
            "Female",
            "Age18-60",
            "Back",
            "Glasses: True",
            "Hat: False",
            "HoldObjectsInFront: False",
            "ShoulderBag",
            "Upper: LongSleeve UpperLogo",
            "Lower:  Trousers",
            "No boots",
        ],
        "output": [int(i in (1, 3, 5, 11, 16, 20, 22, 25)) for i in range(26)],
    }
    assert set(pred.label_names) == {
        PERSON_ATTRIBUTE_LABELS[i] for i in (1, 3, 5, 11, 16, 20, 22, 25)
    }
    assert "attributes" in pred.to_dict() and "Female" in pred.format()


def test_paddlex_normalize_formula_is_exact():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (80, 160, 3), np.uint8)
    pp = Preprocess(
        resize_short=None, crop_size=None, resize_size=(160, 80), norm_formula="paddlex"
    )
    rgb = img[:, :, ::-1].astype(np.float32)
    # PaddleX: x *= alpha (float32), x += beta (float32), constants rounded from float64
    want = np.stack(
        [
            rgb[:, :, c] * np.float32(pp.scale / pp.std[c]) + np.float32(-pp.mean[c] / pp.std[c])
            for c in range(3)
        ]
    )
    assert np.array_equal(preprocess(img, pp), want)


def test_fixed_size_resize_has_no_crop_and_pil_differs_from_cv2():
    img = np.random.default_rng(1).integers(0, 256, (300, 500, 3), np.uint8)
    fixed = Preprocess(resize_short=None, crop_size=None, resize_size=(160, 80))
    out = resize_crop(img, fixed)
    assert out.shape == (80, 160, 3)
    assert np.array_equal(out, cv2.resize(img, (160, 80), interpolation=cv2.INTER_LINEAR))
    pil = resize_crop(
        img, Preprocess(resize_short=None, crop_size=None, resize_size=(160, 80), backend="pil")
    )
    from PIL import Image

    ref = np.asarray(Image.fromarray(img[:, :, ::-1]).resize((160, 80), Image.BILINEAR))
    assert np.array_equal(pil, ref[:, :, ::-1]) and not np.array_equal(pil, out)


def test_metadata_round_trip_and_old_rt_info():
    post = Postprocess("multilabel", topk=None, threshold=(0.5, 0.7), labels=("帽子", "b"))
    pp = Preprocess(resize_short=None, crop_size=None, resize_size=(192, 256), backend="pil")
    meta = ModelMetadata(name="m", labels=("帽子", "b"), preprocess=pp, postprocess=post)
    info = meta.to_rt_info()
    back = ModelMetadata.from_rt_info(info)
    assert back.postprocess == post and back.preprocess == pp
    old = {k: v for k, v in info.items() if k != "postprocess"}
    old["preprocess"] = json.dumps({"resize_short": 256, "crop_size": 224})
    legacy = ModelMetadata.from_rt_info(old)
    assert legacy.postprocess == Postprocess.default() and legacy.preprocess == Preprocess()
    assert isinstance(Postprocess.default().apply(np.array([0.1, 0.9]))[0], Prediction)
