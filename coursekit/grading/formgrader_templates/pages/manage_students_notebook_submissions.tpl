{%- extends 'nbgrader/manage_students_notebook_submissions.tpl' -%}
{#- nbgrader's page without inline script: its variables are data- attributes of page.js (base.tpl). -#}
{%- block page_vars %} data-student_id="{{ student_id }}" data-assignment_id="{{ assignment_id }}"{% endblock -%}
{%- block head -%}
<script src="{{ base_url }}/formgrader/static/js/manage_students_notebook_submissions.js"></script>
{%- endblock head -%}

