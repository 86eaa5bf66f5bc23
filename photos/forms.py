from typing import Any

from django import forms

from photos.models import Run


class UploadForm(forms.Form):
    # A plain FileField: the photo service does the image checks, with messages written for users.
    image = forms.FileField(label="Photo")
    mode = forms.ChoiceField(choices=Run.Mode.choices, initial=Run.Mode.MATCH)
    context = forms.CharField(
        max_length=500,
        required=False,
        label="Anything to add?",
        widget=forms.TextInput(attrs={"placeholder": "e.g. our wedding, a rainy Sunday, road trip"}),
    )


class MoodForm(forms.Form):
    """A mood set on the results page's map: valence and arousal on the map's (word) scale, 0-1."""

    valence = forms.FloatField(min_value=0.0, max_value=1.0)
    arousal = forms.FloatField(min_value=0.0, max_value=1.0)


class FilterForm(forms.Form):
    """Filters on the tracks a run may recommend; the choices are what the active catalogue has."""

    genres = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    energy_min = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="Energy from")
    energy_max = forms.FloatField(required=False, min_value=0.0, max_value=1.0, label="to")
    tempo_min = forms.FloatField(required=False, min_value=0.0, max_value=300.0, label="Tempo (BPM) from")
    tempo_max = forms.FloatField(required=False, min_value=0.0, max_value=300.0, label="to")
    decade = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    language = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, choices: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["genres"].choices = [(g, g) for g in choices["genres"]]
        fields["decade"].choices = [("", "Any decade"), *((d, f"{d}s") for d in choices["decades"])]
        fields["language"].choices = [("", "Any language"), *((x, x) for x in choices["languages"])]
        for name in ("energy_min", "energy_max"):
            self.fields[name].widget.attrs.update(step="0.05", min="0", max="1")
        for name in ("tempo_min", "tempo_max"):
            self.fields[name].widget.attrs.update(step="1", min="0", max="300")
